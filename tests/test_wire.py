"""The grader's wire format: values cross exactly, and nothing but plain values crosses."""
from __future__ import annotations

import collections
import json
import math
import struct

import numpy as np
import pytest
import torch

from rnncourse import wire


def roundtrip(value):
    head, arrays = wire.encode(value)
    buf = wire.pack({"value": head}, arrays)
    msg, arr, used = wire.unpack(buf)
    assert used == len(buf)
    return wire.decode(msg["value"], arr)


def test_plain_values_roundtrip_exactly():
    value = {
        "ints": [0, -1, 2**62, 2**100], "floats": (1.5, -0.0, math.inf), "text": "héllo\n", "none": None,
        ("tuple", "key"): np.arange(6, dtype=np.int16).reshape(2, 3),
        "bools": np.array([True, False]), "unicode": np.array(["ab", "c"]), "scalar": np.float32(2.5),
        "counter": collections.Counter("abracadabra"), "dd": collections.defaultdict(int, {"x": 3}),
        "complex": np.array([1 + 2j]),
    }
    got = roundtrip(value)
    assert got.keys() == value.keys()
    assert got["ints"] == value["ints"] and got["floats"] == value["floats"] and got["text"] == value["text"]
    assert np.array_equal(got[("tuple", "key")], value[("tuple", "key")]) and got[("tuple", "key")].dtype == np.int16
    assert got["unicode"].tolist() == ["ab", "c"] and got["scalar"] == np.float32(2.5)
    assert isinstance(got["scalar"], np.float32)
    assert isinstance(got["counter"], collections.Counter) and got["counter"]["a"] == 5
    assert isinstance(got["dd"], collections.defaultdict) and got["dd"]["missing"] == 0
    assert math.isnan(roundtrip(float("nan")))


def test_tensors_arrive_as_plain_tensors_of_the_same_dtype():
    class Sneaky(torch.Tensor):
        def __eq__(self, other):
            return True
    t = torch.arange(4.0).as_subclass(Sneaky)
    got = roundtrip((t, torch.tensor([1, 2], dtype=torch.int64), torch.ones(2, dtype=torch.float16)))
    assert type(got[0]) is torch.Tensor and got[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert got[1].dtype == torch.int64 and got[2].dtype == torch.float16


def test_array_subclasses_arrive_as_plain_arrays():
    class Liar(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(other), bool)
    got = roundtrip(np.zeros(3).view(Liar))
    assert type(got) is np.ndarray and not np.array_equal(got == np.ones(3), np.ones(3, bool))


@pytest.mark.parametrize("bad", [np.array([object()], dtype=object), object(), {1, 2}, lambda: 0])
def test_anything_else_is_refused(bad):
    with pytest.raises(wire.Unportable):
        wire.encode(bad)


def _message(header: dict, blob: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack("!I", len(head)) + head + struct.pack("!Q", len(blob)) + blob


@pytest.mark.parametrize("header,blob", [
    ({"value": {"$a": "a0"}, "@arrays": [["a0", "|O", [1]]]}, b"\0" * 8),       # object array: pickle
    ({"value": {"$a": "a0"}, "@arrays": [["a0", "<f8", [4]]]}, b"\0" * 8),       # shorter than announced
    ({"value": {"$a": "a0"}, "@arrays": [["a0", "V8", [1]]]}, b"\0" * 8),        # void
    ({"value": {"$a": "a0"}, "@arrays": [["a0", "<f8", [-1]]]}, b""),            # negative shape
])
def test_malformed_messages_are_refused(header, blob):
    with pytest.raises(wire.WireError):
        wire.unpack(_message(header, blob))


def test_partial_and_oversized_messages():
    buf = wire.pack({"value": 1}, {"a0": np.zeros(10)})
    assert wire.unpack(buf[:-1]) is None and wire.unpack(buf[:3]) is None
    with pytest.raises(wire.WireError):
        wire.unpack(struct.pack("!I", wire.MAX_HEADER + 1) + b"{}")
    with pytest.raises(wire.WireError):
        wire.unpack(_message({"value": 1})[:-8] + struct.pack("!Q", wire.MAX_BLOB + 1))
    with pytest.raises(wire.WireError):
        wire.decode({"$a": "missing"}, {})
