"""The grader's wire format: plain values between a sandboxed submission and the grader.

The autograder runs a student's code in a sandboxed process and the checks in a trusted
one (``autograde.remote``).  Everything that crosses between them is a *plain value*:

* ``None``, ``bool``, ``int``, ``float``, ``str``;
* numpy arrays and scalars of boolean, integer, floating, complex or unicode dtype;
* torch tensors (sent as arrays, rebuilt as CPU tensors of the same dtype);
* ``list``, ``tuple``, ``dict`` (any plain keys), ``Counter`` and ``defaultdict`` of a
  builtin factory, nested freely;
* *handles*: references to objects that stay on the other side (a student's model, a
  random generator, a callback), tagged ``{"$h": id}``.

A message is a JSON header plus the arrays' raw bytes, described by dtype and shape in
the header and read back with ``np.frombuffer`` for numeric and text dtypes only: no
pickle anywhere, so a hostile value cannot run code in the
grader, and an object with a lying ``__eq__`` or a tensor subclass arrives as the plain
numbers it holds.  Sizes are capped (``MAX_BLOB``, ``MAX_HEADER``).
"""
from __future__ import annotations

import collections
import json
import math
import struct
from typing import Any, BinaryIO, Callable

import numpy as np

MAX_HEADER = 64 * 2**20     # bytes of JSON per message
MAX_BLOB = 256 * 2**20      # bytes of arrays per message
MAX_DEPTH = 64
_KINDS = set("biufcU")      # numpy dtype kinds that may cross (no objects, no void/records)
_FACTORIES = {"int": int, "float": float, "list": list, "dict": dict, "set": set, "str": str}


class WireError(ValueError):
    """A value that cannot cross, or a message that is not well formed."""


class Unportable(WireError):
    """Raised by ``encode`` (with ``on_object=None``) for an object that is not a plain value."""


def _is_tensor(x: Any) -> bool:
    t = type(x)
    return any(c.__module__ == "torch" and c.__name__ == "Tensor" for c in t.__mro__)


def encode(value: Any, on_object: Callable[[Any], dict] | None = None) -> tuple[Any, dict[str, np.ndarray]]:
    """``(header, arrays)`` for ``value``.  ``on_object(obj)`` turns anything else into a
    handle dict (``{"$h": ...}``); without it such objects raise :class:`Unportable`."""
    arrays: dict[str, np.ndarray] = {}

    def array(a: np.ndarray) -> str:
        if a.dtype.kind not in _KINDS:
            raise Unportable(f"arrays of dtype {a.dtype} cannot be sent (only numbers, booleans and text)")
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(a, order="C")
        return key

    def enc(x: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise Unportable("value nested too deeply")
        t = type(x)
        if x is None or t is bool or t is str:
            return x
        if t is int:
            return x if -2**63 <= x < 2**64 else {"$big": str(x)}
        if t is float:
            return x if math.isfinite(x) else {"$f": repr(x)}
        if isinstance(x, np.ndarray):  # subclasses arrive as the plain numbers they hold
            return {"$a": array(np.ndarray.view(x, np.ndarray))}
        if isinstance(x, np.generic) and x.dtype.kind in _KINDS:
            return {"$s": array(np.asarray(x))}
        if _is_tensor(x):
            import torch

            base = torch.Tensor.detach(x)
            base = torch.Tensor.cpu(base)
            dtype = str(base.dtype).replace("torch.", "")
            if base.dtype in (torch.bfloat16, torch.float16):
                base = base.float()
            return {"$t": array(torch.Tensor.numpy(base, force=True).copy()), "dtype": dtype}
        if t is list:
            return [enc(v, depth + 1) for v in x]
        if t is tuple:
            return {"$tu": [enc(v, depth + 1) for v in x]}
        if t in (dict, collections.Counter, collections.OrderedDict) or t is collections.defaultdict:
            out = {"$d": [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in dict.items(x)]}
            if t is collections.Counter:
                out["kind"] = "Counter"
            elif t is collections.defaultdict:
                factory = getattr(x.default_factory, "__name__", None)
                out["kind"] = f"defaultdict:{factory}" if factory in _FACTORIES else "dict"
            return out
        if on_object is not None:
            return on_object(x)
        raise Unportable(f"a value of type {t.__module__}.{t.__qualname__} cannot be sent "
                         "(only numbers, strings, arrays, tensors, lists, tuples and dicts)")

    return enc(value, 0), arrays


def encode_call(args: tuple, kwargs: dict, on_object: Callable[[Any], dict] | None = None) -> tuple[Any, Any, dict]:
    """``(args header, kwargs header, arrays)`` of a call, encoded together so that their
    arrays share one namespace."""
    head, arrays = encode((tuple(args), dict(kwargs)), on_object)
    head_args, head_kwargs = head["$tu"]
    return head_args, head_kwargs, arrays


def decode(header: Any, arrays: dict[str, np.ndarray], on_handle: Callable[[dict], Any] | None = None,
           as_tensor: Callable[[np.ndarray, str], Any] | None = None,
           record: dict[str, Any] | None = None) -> Any:
    """Inverse of :func:`encode`.  ``on_handle`` rebuilds handles; ``as_tensor(array,
    dtype)`` rebuilds tensors (default: ``torch.from_numpy``).  ``record``, when given,
    receives ``{array key: the decoded array or tensor}`` so that a caller can look at
    those objects again after a call (did the call change them in place?)."""

    def tensor(a: np.ndarray, dtype: str):
        if as_tensor is not None:
            return as_tensor(a, dtype)
        import torch

        t = torch.from_numpy(a.copy())
        want = getattr(torch, dtype, None)
        return t.to(want) if isinstance(want, torch.dtype) and t.dtype != want else t

    def get(key: Any) -> np.ndarray:
        if not isinstance(key, str) or key not in arrays:
            raise WireError(f"message refers to a missing array {key!r}")
        return arrays[key]

    def dec(x: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if isinstance(x, list):
            return [dec(v, depth + 1) for v in x]
        if not isinstance(x, dict) or len(x) == 0:
            raise WireError(f"malformed value {str(x)[:80]}")
        if "$a" in x:
            out = get(x["$a"])
            if record is not None:
                record[x["$a"]] = out
            return out
        if "$s" in x:
            return get(x["$s"])[()]
        if "$t" in x:
            out = tensor(get(x["$t"]), str(x.get("dtype", "")))
            if record is not None:
                record[x["$t"]] = out
            return out
        if "$tu" in x:
            return tuple(dec(v, depth + 1) for v in _list(x["$tu"]))
        if "$d" in x:
            items = [(dec(k, depth + 1), dec(v, depth + 1)) for k, v in (_pair(p) for p in _list(x["$d"]))]
            kind = x.get("kind", "dict")
            if kind == "Counter":
                return collections.Counter(dict(items))
            if isinstance(kind, str) and kind.startswith("defaultdict:") and kind[12:] in _FACTORIES:
                return collections.defaultdict(_FACTORIES[kind[12:]], items)
            return dict(items)
        if "$f" in x:
            return float(x["$f"]) if x["$f"] in ("nan", "inf", "-inf") else _bad(x)
        if "$big" in x:
            return int(str(x["$big"])[:5000])
        if "$h" in x:
            if on_handle is None:
                raise WireError("unexpected handle")
            return on_handle(x)
        return _bad(x)

    return dec(header, 0)


def _list(v: Any) -> list:
    if not isinstance(v, list):
        raise WireError("malformed list")
    return v


def _pair(p: Any) -> tuple:
    if not isinstance(p, list) or len(p) != 2:
        raise WireError("malformed dict item")
    return p[0], p[1]


def _bad(x: Any):
    raise WireError(f"malformed value {str(x)[:80]}")


# --------------------------------------------------------------------------- framing
# A message: "!I" length of the JSON header, the header, "!Q" length of the array data,
# the data.  The header's "@arrays" lists [name, dtype, shape] for each array, stored one
# after the other as raw bytes (C order).  Only dtypes of the kinds in _KINDS are read.

def pack(header: Any, arrays: dict[str, np.ndarray] | None = None) -> bytes:
    arrays = arrays or {}
    table, blobs = [], []
    for name, a in arrays.items():
        a = np.asarray(a, order="C")
        table.append([name, a.dtype.str, list(a.shape)])
        blobs.append(a.tobytes())
    body = dict(header) if isinstance(header, dict) else {"value": header}
    if table:
        body["@arrays"] = table
    head = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
    blob = b"".join(blobs)
    return struct.pack("!I", len(head)) + head + struct.pack("!Q", len(blob)) + blob


def unpack(buf: bytes | bytearray | memoryview, max_blob: int = MAX_BLOB):
    """``(header, arrays, consumed)`` for the first whole message in ``buf``, or ``None``."""
    if len(buf) < 4:
        return None
    (n,) = struct.unpack_from("!I", buf, 0)
    if n > MAX_HEADER:
        raise WireError(f"message header of {n} bytes is over the limit")
    if len(buf) < 4 + n + 8:
        return None
    (m,) = struct.unpack_from("!Q", buf, 4 + n)
    if m > max_blob:
        raise WireError(f"message of {m} bytes is over the limit of {max_blob}")
    end = 4 + n + 8 + m
    if len(buf) < end:
        return None
    try:
        header = json.loads(bytes(buf[4:4 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"malformed message header ({exc})") from None
    if not isinstance(header, dict):
        raise WireError("malformed message header")
    arrays: dict[str, np.ndarray] = {}
    table = header.pop("@arrays", [])
    blob = bytes(buf[4 + n + 8:end])
    offset = 0
    try:
        for name, dt, shape in table:
            dtype = np.dtype(str(dt))
            if dtype.kind not in _KINDS or dtype.hasobject or dtype.fields is not None:
                raise WireError(f"array {name} has a forbidden dtype {dt}")
            shape = tuple(int(v) for v in shape)
            if any(v < 0 for v in shape):
                raise WireError("negative array shape")
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if offset + size > len(blob):
                raise WireError("array data shorter than announced")
            arrays[str(name)] = np.frombuffer(blob, dtype=dtype, count=size // dtype.itemsize if dtype.itemsize else 0,
                                              offset=offset).reshape(shape).copy()
            offset += size
    except (TypeError, ValueError) as exc:
        if isinstance(exc, WireError):
            raise
        raise WireError(f"malformed array table ({exc})") from None
    return header, arrays, end


def write_message(stream: BinaryIO, header: Any, arrays: dict[str, np.ndarray] | None = None) -> None:
    stream.write(pack(header, arrays))
    stream.flush()


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        b = stream.read(n - got)
        if not b:
            raise EOFError("the other side closed the channel")
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def read_message(stream: BinaryIO, max_blob: int = MAX_BLOB) -> tuple[Any, dict[str, np.ndarray]]:
    """Blocking read of one message (the sandboxed side; the grader reads with a deadline)."""
    first = _read_exact(stream, 4)
    (n,) = struct.unpack("!I", first)
    if n > MAX_HEADER:
        raise WireError(f"message header of {n} bytes is over the limit")
    head = _read_exact(stream, n + 8)
    (m,) = struct.unpack_from("!Q", head, n)
    if m > max_blob:
        raise WireError(f"message of {m} bytes is over the limit of {max_blob}")
    out = unpack(first + head + _read_exact(stream, m), max_blob)
    return out[0], out[1]


# --------------------------------------------------------------------------- changed arguments
# A function may change its arguments in place (``out=h_prev``, a finite-difference check
# that does not put an entry back, a sampler advancing its generator).  In a notebook the
# caller sees that; across the sandbox the arguments are copies.  The sandboxed side
# therefore compares every argument after a call with what was sent, bit for bit, and
# sends back the new contents of those that changed; the grader writes them into its own
# objects (``autograde.remote``), so a check that looks at its inputs after the call sees
# what it would see in the student's notebook.

def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _tensor_array(t: Any) -> np.ndarray:
    import torch

    base = torch.Tensor.detach(t).cpu()
    if base.dtype in (torch.bfloat16, torch.float16):
        base = base.float()
    return torch.Tensor.numpy(base, force=True)


def _canon(header: Any, arrays: dict[str, np.ndarray]) -> str:
    """A header with every array replaced by its dtype, shape and bytes (comparable)."""
    def walk(x):
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, dict):
            out = {}
            for k, v in x.items():
                if k in ("$a", "$s", "$t") and isinstance(v, str) and v in arrays:
                    a = arrays[v]
                    out[k] = [a.dtype.str, list(a.shape), a.tobytes().hex()]
                else:
                    out[k] = walk(v)
            return out
        return x
    return json.dumps(walk(header), sort_keys=True, allow_nan=True)


def changed_arguments(header: Any, value: Any, sent: dict[str, np.ndarray],
                      made: dict[str, Any] | None = None) -> list[tuple[list, str, Any]]:
    """``[(path, kind, new value)]`` for the parts of a decoded argument ``value`` that
    differ from what ``header`` and the sent arrays ``sent`` described.

    ``kind`` is ``"array"`` or ``"tensor"`` (changed in place: new contents),
    ``"list"``/``"dict"`` (entries added, removed or replaced: the whole new container),
    ``"generator"`` (a numpy generator that drew numbers: its new state).  ``path`` is a
    list of indices from ``value`` down to the changed part.  ``made`` maps handle keys to
    the generators rebuilt for this call.
    """
    out: list[tuple[list, str, Any]] = []

    def leaf_differs(h: Any, v: Any) -> bool:
        try:
            h2, a2 = encode(v)
        except WireError:   # holds an object that stays on its side: cannot tell
            return False
        return _canon(h, sent) != _canon(h2, a2)

    def walk(h: Any, v: Any, path: list) -> bool:   # True: the parent must be sent whole
        if isinstance(h, dict) and "$a" in h:
            if not isinstance(v, np.ndarray):
                return True
            if not _same_array(np.ndarray.view(v, np.ndarray), sent[h["$a"]]):
                out.append((path, "array", np.ndarray.view(v, np.ndarray).copy()))
            return False
        if isinstance(h, dict) and "$t" in h:
            if not _is_tensor(v):
                return True
            now = _tensor_array(v)
            before = sent[h["$t"]]
            if not (now.shape == before.shape and now.astype(before.dtype, copy=False).tobytes() == before.tobytes()):
                out.append((path, "tensor", v))
            return False
        if isinstance(h, dict) and "$h" in h:
            if made is not None and h.get("make") == "numpy.Generator":
                gen = made.get(h["$h"])
                if gen is not None and leaf_differs(h["state"], gen.bit_generator.state):
                    out.append((path, "generator", gen.bit_generator.state))
            return False
        if isinstance(h, list):
            if type(v) is not list or len(v) != len(h):
                return True
            for i, (hi, vi) in enumerate(zip(h, v)):
                if walk(hi, vi, path + [i]):
                    out[:] = [c for c in out if c[0][:len(path)] != path]
                    out.append((path, "list", v))
                    return False
            return False
        if isinstance(h, dict) and "$tu" in h:
            if not isinstance(v, tuple) or len(v) != len(h["$tu"]):
                return True
            return any(walk(hi, vi, path + [i]) for i, (hi, vi) in enumerate(zip(h["$tu"], v)))
        if isinstance(h, dict) and "$d" in h:
            if not isinstance(v, dict):
                return True
            if leaf_differs(h, v):
                out.append((path, "dict", v))
            return False
        return leaf_differs(h, v)

    if walk(header, value, []):   # the argument itself is a list that gained or lost entries
        out[:] = []
        if type(value) is list:
            out.append(([], "list", value))
        elif isinstance(value, dict):
            out.append(([], "dict", value))
    return out
