"""The process that runs a student's notebook during grading (inside the sandbox).

Started by ``autograde.remote.Worker`` as ``python -m rnncourse.sandbox_worker LOG``.  It
talks to the grader over its original stdin/stdout with the messages of
:mod:`rnncourse.wire`; the student's own output goes to the file ``LOG`` (capped).

Requests and replies:

* ``{"op": "exec", "code": ...}``: run a cell in an IPython shell (so magics work);
  reply ``{"ok": true}`` or ``{"ok": false, "error": {...}}``.
* ``{"op": "call", "target": T, "attr": A, "args": [...], "kwargs": {...}}``: call a
  name of the notebook (``{"name": "rnn_step"}``), an object left here earlier
  (``{"handle": "w3"}``) or a course function (``{"import": "rnncourse.x:f"}``); reply
  ``{"value": ...}`` or ``{"exception": {...}}``.  Values that are not plain stay here and
  go back as handles.
* while a call runs, a callback to the grader (a function it passed in) is the message
  ``{"op": "callback", "handle": ..., "args": ...}``, answered like a call.

Nothing here decides a grade: the grader compares the values it gets back with its own
reference outputs, so anything a submission does to this process (monkeypatching,
input transformers, lying ``__eq__``) changes only the values it hands in.
"""
from __future__ import annotations

import io
import os
import sys
import traceback
from typing import Any

from rnncourse import wire

IMPORTABLE = ("rnncourse.",)
OUTPUT_CAP = int(os.environ.get("RNNCOURSE_OUTPUT_CAP", str(2 * 2**20)))


class CappedWriter(io.TextIOBase):
    """stdout/stderr of the student's code: keeps the first ``cap`` characters."""

    def __init__(self, raw, cap: int):
        self.raw, self.cap, self.written, self.dropped = raw, cap, 0, 0

    def writable(self) -> bool:
        return True

    def write(self, s) -> int:
        s = str(s)
        room = self.cap - self.written
        if room > 0:
            part = s[:room]
            self.raw.write(part)
            self.written += len(part)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def flush(self) -> None:
        try:
            self.raw.flush()
        except Exception:
            pass

    def isatty(self) -> bool:
        return False


class Worker:
    def __init__(self, channel_in, channel_out):
        self.cin, self.cout = channel_in, channel_out
        self.objects: dict[str, Any] = {}
        self.ids: dict[int, str] = {}
        self.shell = None
        self.made_now: dict[str, Any] = {}   # generators rebuilt for the call being made

    # ----------------------------------------------------------------- handles
    def _handle_for(self, obj: Any) -> dict:
        key = self.ids.get(id(obj))
        if key is None or self.objects.get(key) is not obj:
            key = f"w{len(self.objects)}"
            self.objects[key], self.ids[id(obj)] = obj, key
        types = []
        try:
            types = [f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__][:32]
        except Exception:
            pass
        return {"$h": key, "types": types, "callable": bool(callable(obj))}

    def _from_handle(self, h: dict) -> Any:
        key = h.get("$h")
        if isinstance(key, str) and key.startswith("n:"):  # a name of the notebook
            return self._target({"name": key[2:]})
        if "make" in h:
            obj = self._make(h)
            self.objects[key] = obj
            self.ids[id(obj)] = key
            return obj
        if key not in self.objects:
            raise wire.WireError(f"unknown handle {key!r}")
        return self.objects[key]

    def _make(self, h: dict) -> Any:
        what = h["make"]
        if what == "numpy.Generator":
            import numpy as np

            bitgen = getattr(np.random, h["bit_generator"])()
            bitgen.state = wire.decode(h["state"], {}, None)
            gen = np.random.Generator(bitgen)
            self.made_now[h["$h"]] = gen
            return gen
        if what == "portable":
            module, _, name = str(h["cls"]).partition(":")
            if module != "rnncourse.checks.functions":
                raise wire.WireError(f"cannot make {h['cls']!r}")
            import importlib

            cls = getattr(importlib.import_module(module), name)
            return cls(**dict(wire.decode(h["state"], {}, None)))
        if what == "callback":
            key = h["$h"]
            return lambda *a, **k: self._callback(key, a, k)
        raise wire.WireError(f"cannot make {what!r}")

    # ----------------------------------------------------------------- messages
    def send(self, header: dict, value: Any = None, has_value: bool = False, changes: list | None = None) -> None:
        """Send a reply; ``changes`` (arguments the call changed in place) travel with it
        when they can be encoded, and are dropped (never the reply) when they cannot."""
        arrays: dict = {}
        if changes:
            try:
                head, arrays = wire.encode((value if has_value else None, [c[2] for c in changes]), self._handle_for)
                head_value, head_news = head["$tu"]
                if has_value:
                    header["value"] = head_value
                header["changed"] = [[c[0], c[1], h, c[3]] for c, h in zip(changes, head_news)]
                has_value = False
            except Exception:
                arrays = {}
        if has_value:
            try:
                header["value"], arrays = wire.encode(value, self._handle_for)
            except Exception as exc:  # unportable or hostile value
                header = {"exception": self._describe(exc)}
                arrays = {}
        wire.write_message(self.cout, header, arrays)

    def _tensor(self, a, dtype: str):
        """Tensors arrive on the device the grader grades on (CUDA when there is one)."""
        import torch

        from rnncourse import env

        t = torch.from_numpy(a.copy())
        want = getattr(torch, dtype, None)
        if isinstance(want, torch.dtype) and t.dtype != want:
            t = t.to(want)
        return t.to(env.device())

    def _args(self, msg: dict, arrays: dict) -> tuple[list, dict]:
        args = wire.decode(msg.get("args", {"$tu": []}), arrays, self._from_handle, self._tensor)
        kwargs = wire.decode(msg.get("kwargs", {"$d": []}), arrays, self._from_handle, self._tensor)
        return list(args), dict(kwargs)

    def _callback(self, key: str, args: tuple, kwargs: dict) -> Any:
        head_args, head_kw, arrays = wire.encode_call(args, kwargs, self._handle_for)
        wire.write_message(self.cout, {"op": "callback", "handle": key, "args": head_args, "kwargs": head_kw}, arrays)
        msg, arrays = wire.read_message(self.cin)
        if "exception" in msg:
            exc = msg["exception"]
            raise RuntimeError(f"{exc.get('type', 'Error')}: {exc.get('message', '')}")
        return wire.decode(msg.get("value"), arrays, self._from_handle)

    @staticmethod
    def _describe(exc: BaseException) -> dict:
        try:
            message = str(exc)[:4000]
        except Exception:
            message = "<the exception's message could not be shown>"
        try:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-6:])[-6000:]
        except Exception:
            tb = ""
        t = type(exc)
        return {"type": getattr(t, "__name__", "Exception"), "module": getattr(t, "__module__", ""),
                "builtin": t.__module__ == "builtins", "message": message, "traceback": tb}

    # ----------------------------------------------------------------- ops
    def _shell(self):
        if self.shell is None:
            from IPython.core.interactiveshell import InteractiveShell

            self.shell = InteractiveShell.instance()
            self.shell.user_ns["__name__"] = "__main__"
        return self.shell

    def op_exec(self, msg: dict, arrays: dict) -> None:
        result = self._shell().run_cell(str(msg.get("code", "")), store_history=True)
        err = result.error_before_exec or result.error_in_exec
        sys.stdout.flush()
        if err is None:
            self.send({"ok": True})
        else:
            self.send({"ok": False, "error": self._describe(err)})

    def _target(self, t: dict) -> Any:
        if "name" in t:
            ns = self._shell().user_ns
            if t["name"] not in ns:
                raise NameError(f"name {t['name']!r} is not defined (was its cell deleted, renamed or not run?)")
            return ns[t["name"]]
        if "handle" in t:
            return self._from_handle({"$h": t["handle"]})
        if "import" in t:
            spec = str(t["import"])
            module, _, attr = spec.partition(":")
            if not module.startswith(IMPORTABLE):
                raise PermissionError(f"the grader may not call {spec}")
            import importlib

            return getattr(importlib.import_module(module), attr)
        raise wire.WireError("malformed call target")

    def _changes(self, msg: dict, sent: dict, fn: Any, args: list, kwargs: dict) -> list:
        """What the call changed in its arguments: ``[(path, kind, new value, name)]``,
        ``path`` starting with ``"args", i`` or ``"kwargs", name``."""
        try:
            names = _parameter_names(fn, len(args))
            heads = msg.get("args", {"$tu": []}).get("$tu", [])
            out = []
            for i, (h, v) in enumerate(zip(heads, args)):
                for path, kind, new in wire.changed_arguments(h, v, sent, self.made_now):
                    out.append((["args", i] + path, kind, new, names[i]))
            for k, h in msg.get("kwargs", {"$d": []}).get("$d", []):
                if isinstance(k, str) and k in kwargs:
                    for path, kind, new in wire.changed_arguments(h, kwargs[k], sent, self.made_now):
                        out.append((["kwargs", k] + path, kind, new, k))
            return out
        except Exception:  # the bookkeeping never decides a grade
            return []

    def op_call(self, msg: dict, arrays: dict) -> None:
        self.made_now = {}
        sent = {k: v.copy() for k, v in arrays.items()}
        fn, args, kwargs = None, [], {}
        try:
            fn = self._target(msg.get("target", {}))
            if msg.get("attr"):
                fn = getattr(fn, str(msg["attr"]))
            args, kwargs = self._args(msg, arrays)
            value = fn(*args, **kwargs)
        except Exception as exc:
            self.send({"exception": self._describe(exc)}, changes=self._changes(msg, sent, fn, args, kwargs))
            return
        sys.stdout.flush()
        self.send({}, value, has_value=True, changes=self._changes(msg, sent, fn, args, kwargs))

    @staticmethod
    def _kill_strays() -> None:
        """Stop every other process of this sandbox (a fork bomb's children, forgotten
        background jobs) after each cell and call.  Only where the grader says it is
        safe: inside a PID namespace, or under a uid of the grader's own."""
        if os.environ.get("RNNCOURSE_KILL_STRAYS") == "1":
            import signal

            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                return   # nothing to stop
            while True:  # reap them: a zombie still counts against the process limit
                try:
                    os.waitpid(-1, 0)
                except ChildProcessError:
                    break
                except OSError:
                    break

    def serve(self) -> None:
        while True:
            try:
                msg, arrays = wire.read_message(self.cin)
            except EOFError:
                return
            op = msg.get("op")
            if op == "exec":
                self.op_exec(msg, arrays)
                self._kill_strays()
            elif op == "call":
                self.op_call(msg, arrays)
                self._kill_strays()
            elif op == "ping":
                self.send({"pong": True})
            elif op == "exit":
                return
            else:
                self.send({"exception": {"type": "WireError", "message": f"unknown op {op!r}", "builtin": False}})


def _parameter_names(fn: Any, n: int) -> list:
    """The names of ``fn``'s first ``n`` positional parameters (``None`` where unknown)."""
    import inspect

    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params][:n]
    return names + [None] * (n - len(names))


def _setup_process(log_path: str) -> tuple[Any, Any]:
    # the channel: the original stdin/stdout, moved out of the way of the student's prints
    cin = os.fdopen(os.dup(0), "rb", buffering=0)
    cout = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    raw = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="replace", line_buffering=True)
    sys.stdout = CappedWriter(raw, OUTPUT_CAP)
    sys.stderr = sys.stdout
    try:
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full log fails writes, not the process
    except (AttributeError, ValueError):
        pass
    try:
        import numpy as np  # noqa: F401
    except ImportError:  # pragma: no cover
        pass
    from rnncourse import env

    threads = int(os.environ.get("RNNCOURSE_GRADER_THREADS", "1"))
    # importing torch takes seconds and chapter 1's notebooks never do: the settings are
    # applied when the notebook (or a course function it calls) first imports it
    env.after_import("torch", lambda torch: _torch_settings(torch, threads))
    return cin, cout


def _torch_settings(torch, threads: int) -> None:
    """The grader's torch: ``threads`` threads, deterministic algorithms (warn only), seed 0."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cin, cout = _setup_process(argv[0] if argv else os.devnull)
    wire.write_message(cout, {"ready": True, "pid": os.getpid()})
    Worker(cin, cout).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
