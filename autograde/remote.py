"""The grader's side of a sandboxed submission: a worker process and proxies to it.

``Worker`` starts ``rnncourse.sandbox_worker`` under an ``autograde.sandbox`` policy and
sends it cells to run and calls to make.  The checks (``rnncourse.checks.chNN`` and
``autograde.hidden.chNN``) run here, in the grader's own process, and receive *proxies*
instead of the student's functions and classes:

* ``RemoteFunction("rnn_step")``: calling it sends the arguments to the worker, which
  calls the student's function there and sends back plain values (``rnncourse.wire``).
* ``RemoteObject``: anything the student's code returns that is not a plain value (a
  model instance): calling it or its methods is again a remote call.
* arguments that are functions of the grader's (a ``prob_fn``) become callbacks, numpy
  generators are recreated over there with the same state.

A student's exception comes back as the same builtin exception type (``ValueError``,
``NotImplementedError``...) or as ``StudentError``.  A dead worker raises
``WorkerCrashed``, a call over its time limit ``WorkerTimeout``: both derive from
``BaseException`` so that no check can mistake them for a wrong answer; the grading engine
turns them into the test statuses ``crash`` and ``timeout``.
"""
from __future__ import annotations

import builtins
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from autograde.sandbox import UID_BASE, SandboxPolicy, _kill_uid, lease_uid
from rnncourse import wire


class WorkerCrashed(BaseException):
    """The submission's process died (os._exit, a segfault, killed for memory...)."""


class WorkerTimeout(BaseException):
    """A cell or call ran past its time limit; the worker was killed."""


class ProtocolError(BaseException):
    """The worker sent something that is not a well-formed reply (tampering, or output
    written into the grader's channel)."""


class StudentError(Exception):
    """An exception of a type that is not a builtin, raised by the student's code."""

    def __init__(self, type_name: str, message: str):
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name


_SAFE_BUILTINS = {name for name in dir(builtins)
                  if isinstance(getattr(builtins, name), type) and issubclass(getattr(builtins, name), Exception)}


class _KeyError(KeyError):
    """A KeyError whose text is the message as the student's process printed it (a plain
    KeyError would quote it a second time: str(KeyError("'a'")) is "\"'a'\"")."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_KeyError.__name__ = _KeyError.__qualname__ = "KeyError"


def _exception(info: dict) -> Exception:
    name = str(info.get("type", "Exception"))
    message = str(info.get("message", ""))
    if info.get("builtin") and name == "KeyError":
        return _KeyError(message)
    if info.get("builtin") and name in _SAFE_BUILTINS:
        exc = getattr(builtins, name)
        try:
            return exc(message)
        except Exception:
            pass
    return StudentError(name, message)


class Worker:
    """One sandboxed process running one submission."""

    def __init__(self, policy: SandboxPolicy, scratch: Path, slot: int = 0, call_timeout: float = 600.0):
        self.policy, self.scratch, self.slot = policy, Path(scratch), slot
        self.lease = None         # the uid leased for this worker's life (as root)
        self.call_timeout = call_timeout
        self.proc: subprocess.Popen | None = None
        self.log_path = self.scratch / "output.log"
        self._local: dict[int, tuple[Any, str]] = {}     # id(grader object) -> (object, handle)
        self._by_handle: dict[str, Any] = {}
        self._seq = 0
        self.calls = 0
        self.last_changes: list[str] = []   # arguments the last call changed in place
        self._callback_failure: BaseException | None = None   # a CheckFailed raised by a callback
        self._buf = bytearray()

    # ------------------------------------------------------------------ life
    def start(self, timeout: float = 120.0) -> None:
        self.scratch.mkdir(parents=True, exist_ok=True)
        for child in self.scratch.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        log = "/scratch/output.log" if self.policy.resolved_mode() == "bubblewrap" else str(self.log_path)
        if os.geteuid() == 0 and (self.lease is None or not self.lease.held):
            self.lease = lease_uid(prefer=UID_BASE + self.slot)   # kept over restarts, until close()
        argv, env, preexec = self.policy.command([sys.executable, "-m", "rnncourse.sandbox_worker", log],
                                                 self.scratch, self.slot, uid=self.uid)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, cwd=str(self.scratch), preexec_fn=preexec, bufsize=0)
        self._local.clear()
        self._by_handle.clear()
        self._buf = bytearray()
        msg, _ = self._read(timeout, "starting the sandbox")
        if not msg.get("ready"):
            raise ProtocolError("the worker did not start properly")

    @property
    def uid(self) -> int | None:
        """The uid the submission's process runs as (None: this grader's own, not root)."""
        return self.lease.uid if self.lease is not None and self.lease.held else None

    def close(self) -> None:
        """Stop the process and give the uid back."""
        self.stop()
        if self.lease is not None:
            self.lease.release()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except Exception:
                pass
        self.proc = None
        if self.uid is not None:
            _kill_uid(self.uid)     # anything the submission left running under its uid

    def output_tail(self, limit: int = 4000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    # ------------------------------------------------------------------ channel
    def _send(self, header: dict, arrays: dict | None = None) -> None:
        if not self.alive():
            raise WorkerCrashed("the submission's process is not running")
        try:
            wire.write_message(self.proc.stdin, header, arrays)
        except (BrokenPipeError, OSError):
            raise WorkerCrashed("the submission's process died") from None

    def _read(self, timeout: float, what: str) -> tuple[dict, dict]:
        """The next whole message, reading the pipe without blocking past the deadline."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        next_watch = time.monotonic() + 1.0
        while True:
            try:
                got = wire.unpack(self._buf)
            except wire.WireError as exc:
                self.stop()
                raise ProtocolError(f"{what}: the submission's process sent a malformed reply ({exc})") from None
            if got is not None:
                msg, arrays, used = got
                del self._buf[:used]
                return msg, arrays
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise WorkerTimeout(f"{what} took longer than {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    code = self.proc.wait(timeout=10) if self.proc else None
                    self.stop()
                    raise WorkerCrashed(_death(code, what))
                self._buf += chunk
                if len(self._buf) > wire.MAX_BLOB + wire.MAX_HEADER + 12:
                    self.stop()
                    raise ProtocolError(f"{what}: the reply is over the size limit")
                continue
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.stop()
                raise WorkerCrashed(_death(code, what))
            if time.monotonic() > next_watch:
                next_watch = time.monotonic() + 1.0
                used = _tree_bytes(self.scratch, self.policy.scratch_bytes)
                if used > self.policy.scratch_bytes:
                    self.stop()
                    raise WorkerCrashed(f"{what}: the submission wrote more than "
                                        f"{self.policy.scratch_bytes // 2**20} MB to its folder and was stopped")

    # ------------------------------------------------------------------ ops
    def exec_cell(self, code: str, timeout: float) -> dict:
        """Run one cell; ``{"ok": True}`` or ``{"ok": False, "error": {...}}``."""
        self._send({"op": "exec", "code": code})
        msg, _ = self._read(timeout, "the cell")
        if "ok" not in msg:
            self.stop()
            raise ProtocolError("the cell: malformed reply")
        return msg

    def call(self, target: dict, args: tuple = (), kwargs: dict | None = None, attr: str | None = None,
             timeout: float | None = None, what: str = "the call") -> Any:
        timeout = self.call_timeout if timeout is None else timeout
        self.calls += 1
        head_a, head_k, arrays = wire.encode_call(args, kwargs or {}, self._encode_object)
        msg = {"op": "call", "target": target, "args": head_a, "kwargs": head_k}
        if attr:
            msg["attr"] = attr
        self._send(msg, arrays)
        deadline = time.monotonic() + timeout
        self._callback_failure = None
        while True:
            reply, arrays = self._read(max(0.0, deadline - time.monotonic()), what)
            if reply.get("op") == "callback":
                self._answer_callback(reply, arrays)
                continue
            self.last_changes = self._write_back(args, kwargs or {}, reply.get("changed"), arrays)
            if "exception" in reply:
                failure, self._callback_failure = self._callback_failure, None
                if failure is not None:
                    # a check's own callback (a prob_fn that asserts how it is called) failed and
                    # the student's call ended on it: the verdict is that check's, as in a notebook
                    raise failure
                raise _exception(reply["exception"] if isinstance(reply["exception"], dict) else {})
            if "value" not in reply:
                self.stop()
                raise ProtocolError(f"{what}: malformed reply")
            try:
                return wire.decode(reply["value"], arrays, self._decode_handle)
            except wire.WireError as exc:
                raise ProtocolError(f"{what}: the value sent back is malformed ({exc})") from None

    def _write_back(self, args: tuple, kwargs: dict, changed: Any, arrays: dict) -> list[str]:
        """Make the grader's arguments what the student's function left them: arrays and
        tensors changed in place get the new contents, lists and dicts the new entries,
        generators the state after their draws (``rnncourse.wire.changed_arguments``).
        Returns the names of the changed arguments (``"h_prev"``, ``"args[1]"``)."""
        names: list[str] = []
        if not isinstance(changed, list):
            return names
        for item in changed[:256]:
            try:
                path, kind, head, name = item
                target: Any = (tuple(args), dict(kwargs))[0 if path[0] == "args" else 1]
                for step in path[1:]:
                    target = target[step]
                new = wire.decode(head, arrays, self._decode_handle)
                label = str(name) if isinstance(name, str) else (
                    f"args[{path[1]}]" if path[0] == "args" else f"{path[1]}")
                label += "".join(f"[{p!r}]" for p in path[2:])
                _assign(target, kind, new)
                names.append(label)
            except (wire.WireError, LookupError, TypeError, ValueError, AttributeError, RuntimeError):
                continue
        return names

    def _answer_callback(self, msg: dict, arrays: dict) -> None:
        fn = self._by_handle.get(msg.get("handle"))
        if fn is None or not callable(fn):
            self._send({"exception": {"type": "RuntimeError", "message": "unknown callback", "builtin": True}})
            return
        try:
            args = wire.decode(msg.get("args", {"$tu": []}), arrays, self._decode_handle)
            kwargs = wire.decode(msg.get("kwargs", {"$d": []}), arrays, self._decode_handle)
            value = fn(*args, **dict(kwargs))
            head, out = wire.encode(value, self._encode_object)
            self._send({"value": head}, out)
        except (WorkerCrashed, WorkerTimeout, ProtocolError):
            raise
        except Exception as exc:  # the student's code called it with bad arguments
            if isinstance(exc, AssertionError) and type(exc).__name__ == "CheckFailed":
                self._callback_failure = exc
            self._send({"exception": {"type": type(exc).__name__, "message": str(exc)[:500], "builtin": True}})

    # ------------------------------------------------------------------ handles
    def _encode_object(self, obj: Any) -> dict:
        if isinstance(obj, RemoteFunction):
            return {"$h": f"n:{obj.__name__}"}
        if isinstance(obj, RemoteObject):
            if obj._worker is not self:
                raise wire.Unportable("an object of another worker")
            return {"$h": obj._handle}
        known = self._local.get(id(obj))
        if known is not None and known[0] is obj and not isinstance(obj, np.random.Generator):
            return {"$h": known[1]}   # generators travel with their current state every time
        self._seq += 1
        key = f"g{self._seq}"
        from rnncourse.checks.functions import PortableFunction

        if isinstance(obj, PortableFunction):
            state, arrays = wire.encode(obj.state())
            if arrays:  # the state's arrays travel inline as lists of the right dtype
                state, _ = wire.encode(_inline(obj.state()))
            cls = type(obj)
            spec = {"$h": key, "make": "portable", "cls": f"{cls.__module__}:{cls.__qualname__}", "state": state}
        elif isinstance(obj, np.random.Generator):
            bg = obj.bit_generator
            state, _ = wire.encode(bg.state)
            spec = {"$h": key, "make": "numpy.Generator", "bit_generator": type(bg).__name__, "state": state}
        elif callable(obj):
            spec = {"$h": key, "make": "callback"}
        else:
            raise wire.Unportable(f"cannot send a {type(obj).__name__} to the submission")
        self._local[id(obj)] = (obj, key)
        self._by_handle[key] = obj
        return spec

    def _decode_handle(self, h: dict) -> Any:
        key = h.get("$h")
        if isinstance(key, str) and key in self._by_handle:
            return self._by_handle[key]
        if not isinstance(key, str) or not key.startswith("w"):
            raise wire.WireError("bad handle")
        types = [str(t) for t in h.get("types", [])][:32] if isinstance(h.get("types"), list) else []
        return _proxy_class(types[0].rsplit(".", 1)[-1] if types else "object")(self, key, types, bool(h.get("callable")))


class RemoteFunction:
    """A name defined by the submission's notebook, callable from the grader."""

    __rnncourse_remote__ = True

    def __init__(self, worker: Worker, name: str):
        self._worker, self.__name__ = worker, name

    def __call__(self, *args, **kwargs):
        return self._worker.call({"name": self.__name__}, args, kwargs, what=f"calling {self.__name__}")

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return RemoteAttribute(self._worker, {"name": self.__name__}, attr)

    def __repr__(self) -> str:
        return f"<submission's {self.__name__}>"


class RemoteObject:
    """An object that lives in the submission's process (a model, for instance)."""

    __rnncourse_remote__ = True

    def __init__(self, worker: Worker, handle: str, types: list[str], is_callable: bool = True):
        self._worker, self._handle, self._types, self._callable = worker, handle, types, is_callable

    def __call__(self, *args, **kwargs):
        return self._worker.call({"handle": self._handle}, args, kwargs, what="calling the submission's object")

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return RemoteAttribute(self._worker, {"handle": self._handle}, attr)

    def remote_isinstance(self, qualname: str) -> bool:
        return qualname in self._types

    def __repr__(self) -> str:
        return f"<submission's {self._types[0] if self._types else 'object'}>"


_PROXY_CLASSES: dict[str, type] = {}


def _proxy_class(name: str) -> type:
    """A RemoteObject subclass named like the submission's class, so that a message
    saying "got <type name>" names the student's type, not the proxy's."""
    if not name.isidentifier():
        name = "object"
    if name not in _PROXY_CLASSES:
        _PROXY_CLASSES[name] = type(name, (RemoteObject,), {})
    return _PROXY_CLASSES[name]


class RemoteAttribute:
    def __init__(self, worker: Worker, target: dict, attr: str):
        self._worker, self._target, self._attr = worker, target, attr

    def __call__(self, *args, **kwargs):
        return self._worker.call(self._target, args, kwargs, attr=self._attr, what=f"calling .{self._attr}")


def _assign(target: Any, kind: str, new: Any) -> None:
    """Write ``new`` into ``target`` in place (see ``Worker._write_back``)."""
    if kind == "array" and isinstance(target, np.ndarray) and isinstance(new, np.ndarray):
        if target.shape == new.shape and target.flags.writeable:
            np.copyto(target, new, casting="unsafe")
        return
    if kind == "tensor" and wire._is_tensor(target) and wire._is_tensor(new):
        import torch

        if tuple(target.shape) == tuple(new.shape):
            with torch.no_grad():
                target.copy_(new.to(device=target.device, dtype=target.dtype))
        return
    if kind == "list" and isinstance(target, list) and isinstance(new, list):
        target[:] = new
        return
    if kind == "dict" and isinstance(target, dict) and isinstance(new, dict):
        target.clear()
        target.update(new)
        return
    if kind == "generator" and isinstance(target, np.random.Generator) and isinstance(new, dict):
        target.bit_generator.state = new
        return


def _inline(x: Any) -> Any:
    """Arrays as nested lists (for the small state of portable functions)."""
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, dict):
        return {k: _inline(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_inline(v) for v in x)
    return x


def _death(code: int | None, what: str) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the submission's process died during {what} ({name})"
    return f"the submission's process exited during {what} (exit code {code})"


def _tree_bytes(root: Path, stop_after: int) -> int:
    total = 0
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    try:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(Path(e.path))
                        else:
                            total += e.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        pass
                    if total > stop_after:
                        return total
        except OSError:
            pass
    return total
