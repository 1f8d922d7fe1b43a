"""Chapter 7's data: small drawn scenes and the sentences that describe them (image captioning).

Each image is 64 x 64 RGB and shows one or two flat shapes (:data:`SHAPES`) in one of
four colours (:data:`COLOURS`) and two sizes (:data:`SIZES`) on a dark grey background;
each comes with 3 to 5 true captions from a small grammar (:func:`describe`):
``"a small red circle"``, ``"there is a large blue square"``, ``"a small red circle left
of a large blue square"``, ``"a blue square and a red circle"``.  Everything is drawn by
the course itself with Pillow's ``ImageDraw`` and fixed seeds, so nothing is downloaded.

Splits (:data:`SPLITS`): ``train`` (4,000 images), ``valid`` (500) and ``test`` (500)
show the same (colour, shape) combinations; ``compositional`` (500) shows in every image
at least one of :data:`HELD_OUT`, combinations that no other split ever shows, although
each of their colours and shapes is seen in training with other partners.

Each object keeps its bounding box (:class:`Obj`), so the attention of a captioning model
can be checked against where the object it names really is (:func:`object_of_word`).

Typical use::

    from rnncourse import captions as cap
    train = cap.load("train")                      # CaptionSet(images, captions, objects)
    v = cap.vocab()                                # words of the train captions
    idx, texts = cap.training_pairs("train")       # one (image index, caption) per caption
    x = cap.to_tensor_images(train.images[idx[:32]])          # (32, 3, 64, 64) float32
    tgt_in, tgt_out, mask = cap.batch(texts[:32], v)
    cap.load_coco("annotations/captions_val2017.json", "val2017", limit=1000)   # real data

The files ``captions/{split}.npz`` (images) and ``captions/{split}.json`` (objects,
boxes and captions) are written by ``rnncourse.data.prepare()`` (``make data``) through
:func:`build`, and built on first use when missing.  See ``data/README.md``.
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import io
import json
import os
import pathlib
import random
import re
import zipfile
from typing import Iterable, NamedTuple, Sequence

import numpy as np

__all__ = [
    "PAD", "START", "END", "UNK", "SPECIALS", "IMAGE_SIZE", "SHAPES", "COLOURS", "RGB",
    "SIZES", "SIDE", "HELD_OUT", "SPLITS", "SPLIT_SIZES", "SEEDS", "SOURCES", "FILES",
    "RELATIONS", "Obj", "Scene", "CaptionSet", "WordVocab", "draw", "describe", "generate",
    "build", "available", "source_versions", "load", "vocab", "batch", "to_tensor_images", "true_captions", "is_true",
    "training_pairs", "object_of_word", "word_spans", "relation", "normalise_caption",
    "load_coco", "load_flickr8k", "write_fixture",
]

PAD, START, END, UNK = 0, 1, 2, 3
"""Reserved ids, the same numbers as chapter 6's ``<pad> <sos> <eos> <unk>``."""

SPECIALS = ("<pad>", "<start>", "<end>", "<unk>")

IMAGE_SIZE = 64
"""Images are ``IMAGE_SIZE`` x ``IMAGE_SIZE`` RGB."""

SHAPES = ("circle", "square", "triangle")
COLOURS = ("red", "green", "blue", "yellow")
SIZES = ("small", "large")

RGB = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (50, 90, 235), "yellow": (235, 215, 40)}
"""The colour each colour word is drawn in (before a jitter of at most :data:`COLOUR_JITTER`)."""

SIDE = {"small": (12, 16), "large": (22, 28)}
"""Side of an object's (square) box in pixels, drawn uniformly in this closed range."""

HELD_OUT = (("red", "triangle"), ("green", "circle"), ("blue", "square"))
"""(colour, shape) pairs only the ``compositional`` split shows.  Each colour and each
shape still occurs in training with other partners (red circles, green squares...)."""

PAIRS = tuple((c, s) for c in COLOURS for s in SHAPES)
SEEN_PAIRS = tuple(p for p in PAIRS if p not in HELD_OUT)
"""The 9 (colour, shape) pairs of train / valid / test."""

SPLITS = ("train", "valid", "test", "compositional")
SPLIT_SIZES = {"train": 4000, "valid": 500, "test": 500, "compositional": 500}
SEEDS = {"train": 7001, "valid": 7002, "test": 7003, "compositional": 7004}
"""Seed of the ``random.Random`` that draws each split's scenes (the pixel noise of image
``i`` uses ``numpy.random.default_rng([seed, i])``)."""

TWO_OBJECTS = 0.6
"""Probability that a scene has two objects (else one)."""

SOURCES = {"pillow": "13.0.0"}
"""The package the images are drawn with and the version the files were written for."""

_MODULES = {"pillow": "PIL"}  # distribution -> module to import

FILES = tuple(f"captions/{split}.{ext}" for split in SPLITS for ext in ("npz", "json"))
"""The files :func:`build` makes, relative to the data directory."""

FORMAT = 1
"""Version of the JSON layout (the ``"format"`` key of each file)."""

RELATIONS = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
"""Each relation word and its inverse."""

BACKGROUND = (32, 72)
"""Range of the grey level of a generated image's background (one level per image)."""
COLOUR_JITTER = 12
"""Each channel of an object's colour moves by at most this much (per object)."""
SPECKLE = 0.03
"""Fraction of pixels changed by up to +-24 grey levels (per image)."""
MARGIN = 2
"""Pixels kept free between an object and the border, and between two objects."""
DOMINANCE = 2.0
"""Two objects' relation is stated along one axis only when their box centres are at least
this many times farther apart along it than along the other (else the layout is redrawn)."""


class Obj(NamedTuple):
    """One object of a scene.

    ``box`` is ``(x0, y0, x1, y1)`` in pixels, x to the right, y down, ``x1`` and ``y1``
    exclusive: the object's pixels lie in ``image[y0:y1, x0:x1]``.
    """

    shape: str
    colour: str
    size: str
    box: tuple[int, int, int, int]


class Scene(NamedTuple):
    """The objects of one image (1 or 2, never overlapping, never the same (colour, shape))
    and its captions (3 to 5 distinct, lowercase words separated by single spaces)."""

    objects: tuple[Obj, ...]
    captions: tuple[str, ...]


class CaptionSet(NamedTuple):
    """Images and their captions.

    ``images`` (N, H, W, 3) uint8 (read-only for the built-in splits: copy before writing);
    ``captions[i]`` the captions of image ``i``; ``objects[i]`` its objects with boxes
    (``[]`` for a real data set, which has no boxes here).  A tuple of three fields:
    ``len(cs.captions)`` is the number of images.
    """

    images: np.ndarray
    captions: list[list[str]]
    objects: list[list[Obj]]


# --------------------------------------------------------------------------- packages

def available() -> bool:
    """Whether Pillow is installed (needed to build the files and to read real images)."""
    return all(importlib.util.find_spec(m) is not None for m in _MODULES.values())


def source_versions() -> dict[str, str]:
    """Installed versions of :data:`SOURCES`, ``{}`` when Pillow is missing."""
    if not available():
        return {}
    out = {}
    for package in SOURCES:
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "unknown"
    return out


def _require() -> None:
    if not available():
        pins = " ".join(f"{p}=={v}" for p, v in SOURCES.items())
        raise ModuleNotFoundError(
            f"chapter 7's images are drawn and read with Pillow, which is not installed: "
            f"pip install {pins}  (or: pip install -r requirements.txt)"
        )


# --------------------------------------------------------------------------- drawing

def _scale_box(box, size: int) -> tuple[int, int, int, int]:
    if size == IMAGE_SIZE:
        return tuple(box)
    f = size / IMAGE_SIZE
    return tuple(int(round(v * f)) for v in box)


def draw(objects: Iterable[Obj], size: int = IMAGE_SIZE, *, rng=None) -> np.ndarray:
    """The image of ``objects``: (size, size, 3) uint8, drawn with ``PIL.ImageDraw``.

    Without ``rng`` the picture is clean: background grey 48, each object filled in its
    :data:`RGB` colour.  With ``rng`` (a ``numpy.random.Generator`` or an int seed) the
    background level, each object's colour (by at most :data:`COLOUR_JITTER` per channel)
    and a few speckled pixels vary, deterministically for a given seed; the generated
    splits are drawn this way.  Boxes are in 64 x 64 pixels and scaled when ``size``
    differs.  A square fills its box, a circle is the disc inscribed in it, a triangle
    points up with its base on the box's bottom row.
    """
    _require()
    from PIL import Image, ImageDraw  # noqa: PLC0415 - only when drawing

    objects = list(objects)
    if rng is not None and not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    level = 48 if rng is None else int(rng.integers(BACKGROUND[0], BACKGROUND[1] + 1))
    img = Image.new("RGB", (size, size), (level, level, level))
    pen = ImageDraw.Draw(img)
    for obj in objects:
        if obj.colour not in RGB or obj.shape not in SHAPES:
            raise ValueError(f"cannot draw {obj}: colour one of {COLOURS}, shape one of {SHAPES}")
        colour = RGB[obj.colour]
        if rng is not None:
            jitter = rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, 3)
            colour = tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(colour, jitter))
        x0, y0, x1, y1 = _scale_box(obj.box, size)
        if obj.shape == "square":
            pen.rectangle((x0, y0, x1 - 1, y1 - 1), fill=colour)
        elif obj.shape == "circle":
            pen.ellipse((x0, y0, x1 - 1, y1 - 1), fill=colour)
        else:
            pen.polygon([(x0, y1 - 1), (x1 - 1, y1 - 1), ((x0 + x1 - 1) / 2, y0)], fill=colour)
    out = np.asarray(img, dtype=np.uint8).copy()
    if rng is not None:
        mask = rng.random((size, size)) < SPECKLE
        delta = rng.integers(-24, 25, (int(mask.sum()), 1))
        out[mask] = np.clip(out[mask].astype(np.int16) + delta, 0, 255).astype(np.uint8)
    return out


# --------------------------------------------------------------------------- captions

def _centre(box) -> tuple[float, float]:
    x0, y0, x1, y1 = box
    return (x0 + x1) / 2, (y0 + y1) / 2


def relation(a: Obj, b: Obj) -> str | None:
    """Where ``a`` is with respect to ``b``: ``"left of"``, ``"right of"``, ``"above"``,
    ``"below"``, or ``None`` when the layout is ambiguous.

    From the box centres: the axis along which they are farther apart must dominate the
    other by :data:`DOMINANCE`, and the boxes must not overlap along it.
    """
    (ax, ay), (bx, by) = _centre(a.box), _centre(b.box)
    dx, dy = ax - bx, ay - by
    if abs(dx) >= DOMINANCE * abs(dy) and abs(dx) > 0:
        if a.box[2] <= b.box[0]:
            return "left of"
        if b.box[2] <= a.box[0]:
            return "right of"
    elif abs(dy) >= DOMINANCE * abs(dx) and abs(dy) > 0:
        if a.box[3] <= b.box[1]:
            return "above"
        if b.box[3] <= a.box[1]:
            return "below"
    return None


def _phrases(o: Obj) -> dict[str, str]:
    return {"full": f"a {o.size} {o.colour} {o.shape}", "colour": f"a {o.colour} {o.shape}",
            "size": f"a {o.size} {o.shape}"}


def _candidates(objects: Sequence[Obj]) -> list[str]:
    if len(objects) == 1:
        (o,) = objects
        p = _phrases(o)
        return [p["full"], f"there is {p['full']}", p["colour"], f"there is {p['colour']}",
                f"the {o.shape} is {o.colour}", f"the {o.colour} {o.shape} is {o.size}",
                f"one {o.size} {o.colour} {o.shape}"]
    if len(objects) != 2:
        raise ValueError(f"a scene has 1 or 2 objects, got {len(objects)}")
    a, b = objects
    rel = relation(a, b)
    if rel is None:
        raise ValueError(f"the layout of {a} and {b} is ambiguous: no relation to state")
    inv = RELATIONS[rel]
    pa, pb = _phrases(a), _phrases(b)
    return [f"{pa['full']} {rel} {pb['full']}", f"{pb['full']} {inv} {pa['full']}",
            f"{pa['colour']} {rel} {pb['colour']}", f"{pb['colour']} {inv} {pa['colour']}",
            f"there is {pa['colour']} {rel} {pb['colour']}",
            f"{pa['colour']} and {pb['colour']}", f"{pb['colour']} and {pa['colour']}",
            f"{pa['full']} and {pb['full']}"]


def describe(objects: Sequence[Obj], rng: random.Random) -> tuple[str, ...]:
    """3 to 5 distinct true captions of a scene, drawn with ``rng`` from the grammar.

    One object: ``a SIZE COLOUR SHAPE``, ``there is a SIZE COLOUR SHAPE``, ``a COLOUR
    SHAPE``, ``there is a COLOUR SHAPE``, ``the SHAPE is COLOUR``, ``the COLOUR SHAPE is
    SIZE``, ``one SIZE COLOUR SHAPE``.  Two objects A and B, with A's :func:`relation` REL
    to B and its inverse INV: ``A REL B`` and ``B INV A`` (with and without the size),
    ``there is A REL B``, ``A and B``, ``B and A``, where A and B are ``a [SIZE] COLOUR
    SHAPE``.  Every caption names each object's colour and shape.
    """
    cands = _candidates(list(objects))
    k = rng.randint(3, 5)
    return tuple(rng.sample(cands, k))


def true_captions(objects: Sequence[Obj]) -> tuple[str, ...]:
    """Every caption the grammar writes of a scene (1 or 2 objects), all of them true.

    :func:`describe` gives each image 3 to 5 of these as its references; this is the whole
    set (7 for one object, 8 for two).  A model's caption can be true without being one of
    its image's references ("there is a red square" for an image whose references all name
    the size): :func:`is_true` judges it by its meaning, which a generated data set allows
    and real ones do not.  Raises ValueError for 0 or more than 2 objects, or for two
    objects whose layout states no relation.
    """
    return tuple(_candidates(list(objects)))


def is_true(caption: str, objects: Sequence[Obj]) -> bool:
    """Whether ``caption`` (normalised as the loaders do: lowercase, punctuation and extra
    spaces dropped) is one of :func:`true_captions` of the scene."""
    return normalise_caption(caption) in set(true_captions(objects))


def _place(rng: random.Random, shape: str, colour: str, size: str) -> Obj:
    lo, hi = SIDE[size]
    side = rng.randint(lo, hi)
    x0 = rng.randint(MARGIN, IMAGE_SIZE - MARGIN - side)
    y0 = rng.randint(MARGIN, IMAGE_SIZE - MARGIN - side)
    return Obj(shape, colour, size, (x0, y0, x0 + side, y0 + side))


def _apart(a: Obj, b: Obj) -> bool:
    """The boxes, grown by :data:`MARGIN`, do not overlap."""
    return (a.box[2] + MARGIN <= b.box[0] or b.box[2] + MARGIN <= a.box[0]
            or a.box[3] + MARGIN <= b.box[1] or b.box[3] + MARGIN <= a.box[1])


def _scene_objects(rng: random.Random, split: str) -> tuple[Obj, ...]:
    two = rng.random() < TWO_OBJECTS
    if split == "compositional":
        first = rng.choice(HELD_OUT)
        pairs = [first] + ([rng.choice([p for p in PAIRS if p != first])] if two else [])
        rng.shuffle(pairs)
    else:
        pairs = rng.sample(SEEN_PAIRS, 2 if two else 1)
    sizes = [rng.choice(SIZES) for _ in pairs]
    for _ in range(1000):
        objs = tuple(_place(rng, s, c, z) for (c, s), z in zip(pairs, sizes))
        if len(objs) == 1 or (_apart(*objs) and relation(*objs) is not None):
            return objs
    raise RuntimeError("could not place the objects")  # pragma: no cover - a few tries suffice


def generate() -> dict[str, list[Scene]]:
    """Every split's scenes, drawn afresh from :data:`SEEDS` (the same every run).

    A scene of valid, test or compositional never has exactly the objects (with boxes) of
    a scene of an earlier split, so no image is repeated across splits.
    """
    seen: set[tuple[Obj, ...]] = set()
    out: dict[str, list[Scene]] = {}
    for split in SPLITS:
        rng = random.Random(SEEDS[split])
        scenes = []
        while len(scenes) < SPLIT_SIZES[split]:
            objs = _scene_objects(rng, split)
            if objs in seen:
                continue
            seen.add(objs)
            scenes.append(Scene(objs, describe(objs, rng)))
        out[split] = scenes
    return out


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` (zip of ``.npy``, deflated) with fixed timestamps: the same bytes every run.

    ``numpy.savez_compressed`` stamps each member with the current time.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue(), compresslevel=6)
    return buf.getvalue()


def _scene_json(s: Scene) -> dict:
    return {"objects": [{"shape": o.shape, "colour": o.colour, "size": o.size, "box": list(o.box)}
                        for o in s.objects], "captions": list(s.captions)}


def _json_text(split: str, scenes: list[Scene]) -> str:
    head = json.dumps({"format": FORMAT, "split": split, "image_size": IMAGE_SIZE,
                       "held_out": [list(p) for p in HELD_OUT]})
    body = ",\n".join(json.dumps(_scene_json(s)) for s in scenes)
    return head[:-1] + ', "scenes": [\n' + body + "\n]}\n"


def build() -> dict[str, bytes]:
    """The content of every file, ``{relative path: bytes}``, for ``rnncourse.data.prepare``.

    ``captions/<split>.npz`` holds ``images`` (N, 64, 64, 3) uint8; ``captions/<split>.json``
    the scenes in the same order (objects with boxes, captions).  Byte-identical from one
    call to the next with the same Pillow, numpy and Python.
    """
    _require()
    out: dict[str, bytes] = {}
    for split, scenes in generate().items():
        seed = SEEDS[split]
        images = np.stack([draw(s.objects, rng=np.random.default_rng([seed, i]))
                           for i, s in enumerate(scenes)])
        out[f"captions/{split}.npz"] = _npz({"images": images})
        out[f"captions/{split}.json"] = _json_text(split, scenes).encode("utf-8")
    return out


# --------------------------------------------------------------------------- loading

def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(repr(s) for s in SPLITS)}")
    return split


def _check_limit(limit) -> None:
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be an int >= 0 or None, got {limit!r}")


@functools.lru_cache(maxsize=8)
def _read(npz: str, js: str, stamp: tuple) -> CaptionSet:
    with np.load(npz, allow_pickle=False) as f:
        images = f["images"]
    meta = json.loads(pathlib.Path(js).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT or "scenes" not in meta:
        raise ValueError(f"{js}: not a caption file of format {FORMAT}; rebuild with "
                         "python data/prepare.py --force")
    scenes = meta["scenes"]
    if len(scenes) != len(images):
        raise ValueError(f"{npz} has {len(images)} images but {js} {len(scenes)} scenes; "
                         "rebuild with python data/prepare.py --force")
    images.setflags(write=False)
    objects = [[Obj(o["shape"], o["colour"], o["size"], tuple(o["box"])) for o in s["objects"]]
               for s in scenes]
    return CaptionSet(images, [list(s["captions"]) for s in scenes], objects)


def load(split: str = "train", *, limit: int | None = None) -> CaptionSet:
    """One generated split: its images, captions and objects, in file order.

    Args:
        split: ``"train"`` (4,000 images), ``"valid"`` (500), ``"test"`` (500) or
            ``"compositional"`` (500, each with a pair of :data:`HELD_OUT`).
        limit: keep the first ``limit`` images; ``None``: all.

    The files are built by ``rnncourse.data.prepare()`` on first use and read once
    (cached while they do not change).  The images array is read-only and shared
    between calls; the lists are fresh copies.

    Raises:
        ValueError: an unknown split or a bad limit.
        ModuleNotFoundError: the files are missing and Pillow is not installed.
    """
    from rnncourse import data  # noqa: PLC0415 - rnncourse.data imports this module lazily

    _check_split(split)
    _check_limit(limit)
    rels = [pathlib.Path("captions") / f"{split}.{ext}" for ext in ("npz", "json")]
    if not all((data.data_dir() / r).is_file() for r in rels):
        _require()
    paths = [data._ensure(r) for r in rels]
    stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    full = _read(str(paths[0]), str(paths[1]), stamp)
    n = len(full.captions) if limit is None else min(limit, len(full.captions))
    return CaptionSet(full.images[:n], [list(c) for c in full.captions[:n]],
                      [list(o) for o in full.objects[:n]])


class WordVocab:
    """A word vocabulary with four reserved ids.

    ``0 <pad>``, ``1 <start>``, ``2 <end>``, ``3 <unk>``, then the words in sorted order.
    :meth:`encode` splits a caption at whitespace and maps a word it does not know to
    ``<unk>``; :meth:`decode` stops at the first ``<end>``, skips ``<pad>`` and
    ``<start>`` and writes ``<unk>`` (or any id out of range) as ``"<unk>"``.
    """

    SPECIALS = SPECIALS

    def __init__(self, words: Iterable[str]):
        words = sorted(set(words))
        bad = [w for w in words if not w or w.split() != [w] or w in SPECIALS]
        if bad:
            raise ValueError(f"a WordVocab holds words without spaces, not the specials; got {bad[:5]!r}")
        self.itos: list[str] = list(SPECIALS) + words
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(words, start=len(SPECIALS))}

    @classmethod
    def from_captions(cls, captions: Iterable[str]) -> "WordVocab":
        """The vocabulary of every word in ``captions`` (split at whitespace)."""
        words: set[str] = set()
        for c in captions:
            words.update(c.split())
        return cls(words)

    @property
    def words(self) -> list[str]:
        """The words (no specials), in id order."""
        return self.itos[len(SPECIALS):]

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def __eq__(self, other) -> bool:
        return isinstance(other, WordVocab) and self.itos == other.itos

    def __repr__(self) -> str:
        shown = " ".join(self.words[:12]) + (" ..." if len(self.words) > 12 else "")
        return f"WordVocab({len(self)} ids: 4 specials + {len(self.words)} words: {shown})"

    def encode(self, caption: str) -> list[int]:
        """Ids of the words of ``caption`` (no ``<start>`` / ``<end>`` added)."""
        return [self.stoi.get(w, UNK) for w in caption.split()]

    def decode(self, ids) -> str:
        """The caption of ``ids`` (list, numpy array or tensor), up to the first ``<end>``."""
        out = []
        for i in ids:
            i = int(i)
            if i == END:
                break
            if i in (PAD, START):
                continue
            out.append(self.itos[i] if UNK < i < len(self.itos) else "<unk>")
        return " ".join(out)


def vocab() -> WordVocab:
    """The words of the train split's captions (use it for every split)."""
    return WordVocab.from_captions(c for caps in load("train").captions for c in caps)


def batch(captions: Sequence[str], vocab: WordVocab) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pad captions into numpy arrays for teacher forcing.

    Returns ``(tgt_in, tgt_out, mask)``, each (N, T) with T the longest caption (in words)
    + 1: ``tgt_in`` int64 ``<start>`` then the word ids (the decoder's inputs),
    ``tgt_out`` int64 the word ids then ``<end>`` (what it must predict), both padded with
    ``<pad>`` (0), and ``mask`` bool, True at the real steps of ``tgt_out`` (``<end>``
    included).  ``torch.from_numpy`` turns each into a tensor without a copy.
    """
    if isinstance(captions, str):
        raise TypeError("batch takes a list of captions, not one string")
    ids = [vocab.encode(c) for c in captions]
    n = len(ids)
    T = max((len(x) for x in ids), default=0) + 1
    tgt_in = np.zeros((n, T), dtype=np.int64)
    tgt_out = np.zeros((n, T), dtype=np.int64)
    for i, x in enumerate(ids):
        tgt_in[i, : len(x) + 1] = [START] + x
        tgt_out[i, : len(x) + 1] = x + [END]
    lengths = np.array([len(x) + 1 for x in ids], dtype=np.int64)
    mask = np.arange(T)[None, :] < lengths[:, None]
    return tgt_in, tgt_out, mask


def to_tensor_images(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [0, 1] (one (H, W, 3) image -> (3, H, W)).

    ``torch.from_numpy`` of the result is what a convolutional encoder takes.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images (0-255), got dtype {images.dtype}")
    if images.ndim not in (3, 4) or images.shape[-1] != 3:
        raise ValueError(f"expected images of shape (N, H, W, 3) or (H, W, 3), got {images.shape}")
    moved = np.moveaxis(images, -1, -3)
    return np.ascontiguousarray(moved, dtype=np.float32) / np.float32(255.0)


def training_pairs(split: str = "train", *, limit: int | None = None,
                   seed: int | None = 0) -> tuple[np.ndarray, list[str]]:
    """One ``(image index, caption)`` per caption of a split, for teacher forcing.

    Returns ``(indices, captions)``: ``indices`` (M,) int64 into ``load(split,
    limit=limit).images``, ``captions`` the M captions, shuffled with
    ``numpy.random.default_rng(seed)`` (``seed=None``: image by image, in file order).
    """
    cs = load(split, limit=limit)
    idx = [i for i, caps in enumerate(cs.captions) for _ in caps]
    texts = [c for caps in cs.captions for c in caps]
    indices = np.array(idx, dtype=np.int64)
    if seed is not None:
        order = np.random.default_rng(seed).permutation(len(texts))
        indices = indices[order]
        texts = [texts[i] for i in order]
    return indices, texts


def object_of_word(caption: str, objects: Sequence[Obj]) -> list[int | None]:
    """For each word of ``caption``, the index in ``objects`` of the object it names when
    the word is a shape word (``circle``, ``square``, ``triangle``), else ``None``.

    A shape word names the object of that shape whose colour and size agree with the
    words just before it in its phrase (``a large red circle``); ``None`` also when no
    object or more than one fits.  Used to check that attention at a shape word looks
    inside that object's box.
    """
    words = caption.split()
    out: list[int | None] = []
    mods: list[str] = []
    for w in words:
        if w in SHAPES:
            fits = [i for i, o in enumerate(objects) if o.shape == w
                    and all(m == o.colour for m in mods if m in COLOURS)
                    and all(m == o.size for m in mods if m in SIZES)]
            out.append(fits[0] if len(fits) == 1 else None)
            mods = []
        else:
            out.append(None)
            mods = mods + [w] if (w in COLOURS or w in SIZES) else []
    return out


word_spans = object_of_word
"""Another name of :func:`object_of_word`."""


# --------------------------------------------------------------------------- real data sets

_APOSTROPHES = re.compile(r"['\u2019\u02bc`]")
_NOT_WORD = re.compile(r"[^\w\s]|_")


def normalise_caption(text: str) -> str:
    """Lowercase, apostrophes removed (``child's`` -> ``childs``), every other punctuation
    mark a space, whitespace collapsed to single spaces."""
    text = _NOT_WORD.sub(" ", _APOSTROPHES.sub("", text.lower()))
    return " ".join(text.split())


def _open_image(path: pathlib.Path, size: int, where: str) -> np.ndarray:
    from PIL import Image  # noqa: PLC0415

    if not path.is_file():
        raise FileNotFoundError(f"{where} names the image {path.name!r}, which is not at {str(path)!r}")
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8).copy()
    except OSError as e:
        raise ValueError(f"{path}: not an image Pillow can read ({e})") from None


def _check_size(size) -> None:
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be an int >= 1, got {size!r}")


def _stack(images: list[np.ndarray], size: int) -> np.ndarray:
    return np.stack(images) if images else np.zeros((0, size, size, 3), dtype=np.uint8)


def _existing(path, what: str) -> pathlib.Path:
    p = pathlib.Path(os.fspath(path)).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"no {what} at {str(p)!r} (absolute: {str(p.absolute())!r})")
    return p


def load_coco(annotations_json, image_dir, *, size: int = IMAGE_SIZE,
              limit: int | None = None) -> CaptionSet:
    """Images and captions in the COCO captions layout, e.g. ``captions_val2017.json``.

    The JSON has ``"images": [{"id", "file_name", ...}]`` and ``"annotations":
    [{"image_id", "caption", ...}]``.  Images come in the order of ``"images"``, those
    without a caption skipped; each is read with Pillow, made RGB and resized to ``size``
    x ``size`` (bilinear, aspect ratio not kept).  Captions are normalised with
    :func:`normalise_caption`, empty ones dropped.  ``objects`` is ``[]`` per image.

    Args:
        annotations_json: the annotation file.
        image_dir: the folder holding the ``file_name`` of each image.
        size: side of the returned images.
        limit: keep the first ``limit`` images with captions; ``None``: all.

    Raises:
        FileNotFoundError: the JSON or the folder is missing (the path is named), or an
            image with captions is not in the folder (its file name is named).
        ValueError: malformed JSON (where), a missing key (which one, in which entry), or
            an annotation for an image id ``"images"`` does not list.
    """
    _require()
    _check_limit(limit)
    _check_size(size)
    path = _existing(annotations_json, "COCO annotation file")
    folder = _existing(image_dir, "image folder")
    try:
        meta = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: expected a JSON object with keys 'images' and 'annotations'")
    for key in ("images", "annotations"):
        if not isinstance(meta.get(key), list):
            raise ValueError(f"{path}: missing key {key!r} (a list); is this a COCO captions file?")
    files: dict = {}
    for k, entry in enumerate(meta["images"]):
        for key in ("id", "file_name"):
            if not isinstance(entry, dict) or key not in entry:
                raise ValueError(f"{path}: images[{k}] has no key {key!r}: {str(entry)[:80]}")
        files[entry["id"]] = entry["file_name"]
    caps: dict = {}
    for k, ann in enumerate(meta["annotations"]):
        for key in ("image_id", "caption"):
            if not isinstance(ann, dict) or key not in ann:
                raise ValueError(f"{path}: annotations[{k}] has no key {key!r}: {str(ann)[:80]}")
        if ann["image_id"] not in files:
            raise ValueError(f"{path}: annotations[{k}] is for image_id {ann['image_id']!r}, "
                             "which 'images' does not list")
        text = normalise_caption(str(ann["caption"]))
        if text:
            caps.setdefault(ann["image_id"], []).append(text)
    images, captions = [], []
    for image_id, name in files.items():
        if limit is not None and len(images) >= limit:
            break
        if image_id not in caps:
            continue
        images.append(_open_image(folder / name, size, f"{path.name} (image id {image_id!r})"))
        captions.append(caps[image_id])
    return CaptionSet(_stack(images, size), captions, [[] for _ in captions])


def load_flickr8k(token_file, image_dir, *, size: int = IMAGE_SIZE,
                  limit: int | None = None) -> CaptionSet:
    """Images and captions in the Flickr8k layout (``Flickr8k.token.txt`` + ``Flicker8k_Dataset/``).

    One caption a line: ``<file name>#<k><TAB><caption>``, e.g.
    ``1000268201_693b08cb0e.jpg#0\\tA child in a pink dress is climbing up ...``.  Images
    come in the order of their first line; they are read and resized as in
    :func:`load_coco`, captions normalised the same way.  Blank lines, a byte-order mark
    and ``\\r\\n`` line ends are handled.

    Raises:
        FileNotFoundError: the token file or the folder is missing, or a line names an
            image that is not in the folder (the file name and the line are named).
        ValueError: a line without a tab or without ``#<k>`` (file and line number named).
    """
    _require()
    _check_limit(limit)
    _check_size(size)
    path = _existing(token_file, "Flickr8k token file")
    folder = _existing(image_dir, "image folder")
    caps: dict[str, list[str]] = {}
    where: dict[str, int] = {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            name, tab, text = line.partition("\t")
            if not tab:
                raise ValueError(f"{path}:{lineno}: expected '<image>#<k><TAB><caption>', found no tab: "
                                 f"{line[:80]!r}")
            file_name, hash_, k = name.strip().rpartition("#")
            if not hash_ or not file_name or not k.strip().isdigit():
                raise ValueError(f"{path}:{lineno}: expected '<image>#<k>' before the tab, found "
                                 f"{name[:60]!r}")
            if file_name not in caps:
                if limit is not None and len(caps) >= limit:
                    break
                caps[file_name] = []
                where[file_name] = lineno
            text = normalise_caption(text)
            if text:
                caps[file_name].append(text)
    images, captions = [], []
    for name, cs in caps.items():
        if not cs:
            continue
        images.append(_open_image(folder / name, size, f"{path.name}:{where[name]}"))
        captions.append(cs)
    return CaptionSet(_stack(images, size), captions, [[] for _ in captions])


def write_fixture(folder, layout: str = "coco", *, n: int = 4, size: int = 80) -> tuple[pathlib.Path, pathlib.Path]:
    """Write a tiny data set of ``n`` drawn scenes in a real data set's layout.

    ``layout="coco"``: ``captions.json`` (COCO captions layout, image ids 100, 101, ...,
    plus one image without captions, which the loader skips) and ``images/*.jpg``;
    ``layout="flickr8k"``: ``Flickr8k.token.txt`` and ``images/*.png``.  The images are
    ``size`` x ``size`` (80 by default, so the loaders' resizing is exercised), the
    captions those of the scenes with a capital letter and a full stop added.

    Returns ``(annotation or token file, image folder)``, the two arguments of
    :func:`load_coco` / :func:`load_flickr8k`.  Scenes come from ``SEEDS["valid"]``; the
    same call writes the same captions.
    """
    _require()
    from PIL import Image  # noqa: PLC0415

    if layout not in ("coco", "flickr8k"):
        raise ValueError(f"unknown layout {layout!r}: use 'coco' or 'flickr8k'")
    root = pathlib.Path(os.fspath(folder)).expanduser()
    images = root / "images"
    images.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEEDS["valid"])
    scenes = []
    for _ in range(n):
        objs = _scene_objects(rng, "valid")
        scenes.append(Scene(objs, describe(objs, rng)))

    def pretty(c: str) -> str:
        return c[0].upper() + c[1:] + "."

    if layout == "coco":
        meta = {"info": {"description": "rnncourse fixture"}, "images": [], "annotations": []}
        for i, s in enumerate(scenes + [Scene((), ())]):
            name = f"{i:012d}.jpg"
            Image.fromarray(draw(s.objects, size)).save(images / name, quality=95)
            meta["images"].append({"id": 100 + i, "file_name": name, "width": size, "height": size})
            for c in s.captions:
                meta["annotations"].append({"id": len(meta["annotations"]) + 1, "image_id": 100 + i,
                                            "caption": pretty(c)})
        ann = root / "captions.json"
        ann.write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return ann, images
    lines = []
    for i, s in enumerate(scenes):
        name = f"fixture_{i:03d}.png"
        Image.fromarray(draw(s.objects, size)).save(images / name)
        lines += [f"{name}#{k}\t{pretty(c)}" for k, c in enumerate(s.captions)]
    token = root / "Flickr8k.token.txt"
    token.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return token, images
