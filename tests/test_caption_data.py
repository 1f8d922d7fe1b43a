"""Chapter 7's generated captioning data (rnncourse.captions): offline, never touching data/."""
from __future__ import annotations

import io
import json
import random
import re

import numpy as np
import pytest

from rnncourse import captions as cap
from rnncourse import data

pytest.importorskip("PIL")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The eight files, built once (about 2-4 s) into a temporary RNNCOURSE_DATA."""
    root = tmp_path_factory.mktemp("caption-data")
    files = cap.build()
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(data.DATA_VARIABLE, str(root))
        yield root, files


@pytest.fixture
def env(built, monkeypatch):
    monkeypatch.setenv(data.DATA_VARIABLE, str(built[0]))
    return built[0]


@pytest.fixture(scope="module")
def sets(built):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(data.DATA_VARIABLE, str(built[0]))
        return {s: cap.load(s) for s in cap.SPLITS}


def _pairs(objects):
    return {(o.colour, o.shape) for o in objects}


# --------------------------------------------------------------------------- the files

def test_build_is_deterministic_and_small(built):
    files = built[1]
    assert list(files) == list(cap.FILES) and all(isinstance(v, bytes) for v in files.values())
    assert cap.build() == files  # the same bytes on a second run
    assert sum(map(len, files.values())) < 8_000_000
    with np.load(io.BytesIO(files["captions/valid.npz"])) as f:
        assert list(f) == ["images"]
        assert f["images"].shape == (500, 64, 64, 3) and f["images"].dtype == np.uint8
    meta = json.loads(files["captions/valid.json"])
    assert meta["format"] == cap.FORMAT and meta["split"] == "valid" and meta["image_size"] == 64
    assert [tuple(p) for p in meta["held_out"]] == list(cap.HELD_OUT)


def test_constants():
    assert (cap.PAD, cap.START, cap.END, cap.UNK) == (0, 1, 2, 3)
    from rnncourse import search
    assert (search.PAD, search.SOS, search.EOS) == (cap.PAD, cap.START, cap.END)
    assert len(cap.HELD_OUT) == 3 and set(cap.HELD_OUT) <= set(cap.PAIRS)
    for colour in cap.COLOURS:  # every colour and shape still seen in training, with others
        assert any(c == colour for c, _ in cap.SEEN_PAIRS)
    for shape in cap.SHAPES:
        assert sum(s == shape for _, s in cap.SEEN_PAIRS) >= 2
    rgb = np.array(list(cap.RGB.values()), dtype=float)
    dist = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1)
    assert dist[~np.eye(4, dtype=bool)].min() > 100  # clearly distinct colours


def test_split_sizes_and_shapes(sets):
    for split, cs in sets.items():
        n = cap.SPLIT_SIZES[split]
        assert len(cs.captions) == n == len(cs.images) == len(cs.objects)
        assert cs.images.shape == (n, 64, 64, 3) and cs.images.dtype == np.uint8
        assert not cs.images.flags.writeable
    assert [cap.SPLIT_SIZES[s] for s in cap.SPLITS] == [4000, 500, 500, 500]


def test_held_out_pairs(sets):
    for split in ("train", "valid", "test"):
        for objs in sets[split].objects:
            assert not _pairs(objs) & set(cap.HELD_OUT), (split, objs)
    seen = set().union(*(_pairs(o) for o in sets["train"].objects))
    assert seen == set(cap.SEEN_PAIRS)
    for split in ("valid", "test"):
        assert set().union(*(_pairs(o) for o in sets[split].objects)) <= seen
    for objs in sets["compositional"].objects:
        assert _pairs(objs) & set(cap.HELD_OUT), objs
    assert set().union(*(_pairs(o) for o in sets["compositional"].objects)) >= set(cap.HELD_OUT)


def test_no_scene_repeats_across_splits(sets):
    keys = {s: {tuple(o) for o in cs.objects} for s, cs in sets.items()}
    assert len(keys["train"]) == 4000
    for a in cap.SPLITS:
        for b in cap.SPLITS:
            if a < b:
                assert not keys[a] & keys[b], (a, b)


def _nearest_colour(pixel):
    rgb = np.array([cap.RGB[c] for c in cap.COLOURS], dtype=float)
    return cap.COLOURS[int(np.argmin(np.linalg.norm(rgb - pixel, axis=1)))]


def test_objects_boxes_and_pixels(sets):
    for split, cs in sets.items():
        for k, (img, objs) in enumerate(zip(cs.images, cs.objects)):
            assert 1 <= len(objs) <= 2
            assert len(_pairs(objs)) == len(objs)  # never the same (colour, shape) twice
            for o in objs:
                x0, y0, x1, y1 = o.box
                assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64
                lo, hi = cap.SIDE[o.size]
                assert lo <= x1 - x0 == y1 - y0 <= hi
                assert o.shape in cap.SHAPES and o.colour in cap.COLOURS and o.size in cap.SIZES
                if k < 300:
                    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
                    centre = np.median(img[cy - 1:cy + 2, cx - 1:cx + 2].reshape(-1, 3), axis=0)
                    assert _nearest_colour(centre) == o.colour, (split, k, o)
                    # outside every box: background grey (r = g = b) or a speckle on it
                    outside = np.ones((64, 64), bool)
                    for p in objs:
                        outside[p.box[1]:p.box[3], p.box[0]:p.box[2]] = False
                    px = img[outside].astype(int)
                    assert (np.abs(px[:, 0] - px[:, 1]) <= 0).mean() > 0.9
            if len(objs) == 2:
                a, b = (o.box for o in objs)
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]  # no overlap


_NP = r"a (?:(small|large) )?(red|green|blue|yellow) (circle|square|triangle)"


def _find(objs, size, colour, shape):
    hits = [o for o in objs if o.colour == colour and o.shape == shape and size in (None, o.size)]
    assert len(hits) == 1, (objs, size, colour, shape)
    return hits[0]


def test_captions_are_true(sets):
    rel_re = re.compile(rf"(?:there is )?{_NP} (left of|right of|above|below) {_NP}")
    and_re = re.compile(rf"{_NP} and {_NP}")
    one_re = re.compile(
        r"(?:there is |one )?a? ?(?:(small|large) )?(red|green|blue|yellow) (circle|square|triangle)")
    for split, cs in sets.items():
        for caps, objs in zip(cs.captions, cs.objects):
            assert 3 <= len(caps) <= 5 and len(set(caps)) == len(caps)
            for c in caps:
                assert re.fullmatch(r"[a-z]+( [a-z]+)*", c), c
                if len(objs) == 1:
                    (o,) = objs
                    if m := re.fullmatch(r"the (\w+) is (\w+)", c):
                        assert (m[1], m[2]) == (o.shape, o.colour), c
                    elif m := re.fullmatch(r"the (\w+) (\w+) is (\w+)", c):
                        assert (m[1], m[2], m[3]) == (o.colour, o.shape, o.size), c
                    else:
                        m = one_re.fullmatch(c)
                        assert m, c
                        assert m[1] in (None, o.size) and (m[2], m[3]) == (o.colour, o.shape), c
                    continue
                if m := rel_re.fullmatch(c):
                    a, b = _find(objs, *m.group(1, 2, 3)), _find(objs, *m.group(5, 6, 7))
                    assert a is not b
                    (ax, ay), (bx, by) = [((o.box[0] + o.box[2]) / 2, (o.box[1] + o.box[3]) / 2) for o in (a, b)]
                    want = {"left of": ax < bx and abs(ax - bx) > abs(ay - by),
                            "right of": ax > bx and abs(ax - bx) > abs(ay - by),
                            "above": ay < by and abs(ay - by) > abs(ax - bx),
                            "below": ay > by and abs(ay - by) > abs(ax - bx)}
                    assert want[m[4]], (c, objs)
                else:
                    m = and_re.fullmatch(c)
                    assert m, c
                    assert _find(objs, *m.group(1, 2, 3)) is not _find(objs, *m.group(4, 5, 6))


def test_describe_and_draw_directly():
    a = cap.Obj("circle", "red", "small", (4, 4, 18, 18))
    b = cap.Obj("square", "blue", "large", (30, 6, 56, 32))
    assert cap.relation(a, b) == "left of" and cap.relation(b, a) == "right of"
    c = cap.Obj("triangle", "green", "large", (6, 36, 30, 60))
    assert cap.relation(a, c) == "above" and cap.relation(c, a) == "below"
    assert cap.relation(b, c) is None  # diagonal: ambiguous, never generated
    caps = cap.describe((a, b), random.Random(0))
    assert 3 <= len(caps) <= 5 and all("red circle" in x and "blue square" in x for x in caps)
    assert cap.describe((a, b), random.Random(0)) == caps
    with pytest.raises(ValueError, match="ambiguous"):
        cap.describe((b, c), random.Random(0))
    img = cap.draw((a, b))
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert tuple(img[11, 11]) == cap.RGB["red"] and tuple(img[20, 43]) == cap.RGB["blue"]
    assert tuple(img[0, 0]) == (48, 48, 48) and tuple(img[4, 4]) == (48, 48, 48)  # outside the disc
    assert (cap.draw((a, b), rng=5) == cap.draw((a, b), rng=5)).all()
    assert not (cap.draw((a, b), rng=5) == cap.draw((a, b), rng=6)).all()
    big = cap.draw((a,), 128)
    assert big.shape == (128, 128, 3) and tuple(big[22, 22]) == cap.RGB["red"]


# --------------------------------------------------------------------------- loading helpers

def test_load_limit_and_errors(env, sets):
    few = cap.load("valid", limit=7)
    assert len(few.captions) == 7 and few.captions == sets["valid"].captions[:7]
    assert (few.images == sets["valid"].images[:7]).all()
    assert few._replace(objects=[]).objects == [] and len(few) == 3  # a plain named tuple
    few.captions[0].append("changed")
    assert cap.load("valid", limit=7).captions[0] == sets["valid"].captions[0]
    with pytest.raises(ValueError, match="'train', 'valid', 'test', 'compositional'"):
        cap.load("dev")
    with pytest.raises(ValueError, match="limit"):
        cap.load("train", limit=-1)


def test_vocab_round_trips_every_caption(env, sets):
    v = cap.vocab()
    assert v.itos[:4] == list(cap.SPECIALS) == ["<pad>", "<start>", "<end>", "<unk>"]
    assert v.words == sorted(v.words) and len(v) < 40
    assert set(cap.COLOURS) | set(cap.SHAPES) | set(cap.SIZES) <= set(v.words)
    assert "circle" in v and "<pad>" not in v and "dog" not in v
    for cs in sets.values():
        for caps in cs.captions:
            for c in caps:
                ids = v.encode(c)
                assert cap.UNK not in ids and v.decode(ids) == c
                assert v.decode([cap.START] + ids + [cap.END, 5, 6]) == c
    assert v.encode("a purple circle") == [v.stoi["a"], cap.UNK, v.stoi["circle"]]
    assert v.decode(np.array([cap.START, v.stoi["a"], cap.UNK, cap.PAD, 999])) == "a <unk> <unk>"
    assert cap.WordVocab.from_captions(["b a", "c a"]).itos[4:] == ["a", "b", "c"]
    assert cap.WordVocab(["x"]) == cap.WordVocab(["x"]) != cap.WordVocab(["y"])
    assert "WordVocab(" in repr(v)
    torch = pytest.importorskip("torch")
    assert v.decode(torch.tensor(v.encode("a red circle"))) == "a red circle"


def test_batch_shapes_and_mask(env):
    v = cap.vocab()
    texts = ["a red circle", "there is a small red circle left of a large blue square", "a square"]
    tgt_in, tgt_out, mask = cap.batch(texts, v)
    T = 12 + 1
    assert tgt_in.shape == tgt_out.shape == mask.shape == (3, T)
    assert tgt_in.dtype == tgt_out.dtype == np.int64 and mask.dtype == bool
    assert (tgt_in[:, 0] == cap.START).all() and mask.sum(1).tolist() == [4, 13, 3]
    for i, t in enumerate(texts):
        n = len(t.split())
        assert tgt_out[i, n] == cap.END and v.decode(tgt_out[i]) == t == v.decode(tgt_in[i])
        assert (tgt_in[i, 1:n + 1] == tgt_out[i, :n]).all()
        assert (tgt_out[i, ~mask[i]] == cap.PAD).all() and (tgt_in[i, n + 1:] == cap.PAD).all()
    assert cap.batch([], v)[0].shape == (0, 1)
    with pytest.raises(TypeError):
        cap.batch("a red circle", v)


def test_images_to_tensors_and_training_pairs(env, sets):
    x = cap.to_tensor_images(sets["valid"].images[:3])
    assert x.shape == (3, 3, 64, 64) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1
    assert np.allclose(x[1, :, 5, 7] * 255, sets["valid"].images[1, 5, 7])
    assert cap.to_tensor_images(sets["valid"].images[0]).shape == (3, 64, 64)
    with pytest.raises(ValueError, match="uint8"):
        cap.to_tensor_images(x)
    idx, texts = cap.training_pairs("valid", limit=20)
    total = sum(len(c) for c in sets["valid"].captions[:20])
    assert idx.shape == (total,) and idx.dtype == np.int64 and len(texts) == total
    assert all(t in sets["valid"].captions[i] for i, t in zip(idx, texts))
    assert sorted(zip(idx.tolist(), texts)) == sorted(
        (i, c) for i, caps in enumerate(sets["valid"].captions[:20]) for c in caps)
    i2, t2 = cap.training_pairs("valid", limit=20)
    assert (i2 == idx).all() and t2 == texts
    i3, _ = cap.training_pairs("valid", limit=20, seed=None)
    assert (np.diff(i3) >= 0).all()


def test_object_of_word(sets):
    a = cap.Obj("circle", "red", "small", (4, 4, 18, 18))
    b = cap.Obj("circle", "blue", "large", (30, 6, 56, 32))
    assert cap.object_of_word("a small red circle left of a large blue circle", (a, b)) == [
        None, None, None, 0, None, None, None, None, None, 1]
    assert cap.object_of_word("a blue circle and a red circle", [a, b]) == [None, None, 1, None, None, None, 0]
    assert cap.object_of_word("a circle", (a, b)) == [None, None]  # ambiguous
    assert cap.object_of_word("the circle is red", (a,)) == [None, 0, None, None]
    assert cap.word_spans is cap.object_of_word
    for cs in sets.values():  # every shape word of every generated caption names one object
        for caps, objs in zip(cs.captions[:200], cs.objects[:200]):
            for c in caps:
                named = cap.object_of_word(c, objs)
                words = c.split()
                assert len(named) == len(words)
                for w, k in zip(words, named):
                    assert (k is not None) == (w in cap.SHAPES), (c, objs)
                    if k is not None:
                        assert objs[k].shape == w
                assert {k for k in named if k is not None} == set(range(len(objs)))


# --------------------------------------------------------------------------- real data layouts

def test_load_coco_from_the_fixture(tmp_path):
    ann, folder = cap.write_fixture(tmp_path / "coco", "coco")
    meta = json.loads(ann.read_text())
    assert len(meta["images"]) == 5 and (folder / meta["images"][0]["file_name"]).is_file()
    cs = cap.load_coco(ann, folder)
    assert cs.images.shape == (4, 64, 64, 3) and cs.images.dtype == np.uint8  # 80 px resized
    assert cs.objects == [[], [], [], []]
    assert all(re.fullmatch(r"[a-z]+( [a-z]+)*", c) for caps in cs.captions for c in caps)
    by_id = {}
    for a in meta["annotations"]:
        by_id.setdefault(a["image_id"], []).append(a["caption"].lower().rstrip("."))
    assert cs.captions == [by_id[100 + i] for i in range(4)]
    # the drawn colour survives JPEG and resizing: the centre of the first object
    rng = random.Random(cap.SEEDS["valid"])
    first = cap._scene_objects(rng, "valid")[0]
    cx, cy = (first.box[0] + first.box[2]) // 2, (first.box[1] + first.box[3]) // 2
    assert _nearest_colour(cs.images[0, cy, cx].astype(float)) == first.colour
    small = cap.load_coco(str(ann), str(folder), size=32, limit=2)
    assert small.images.shape == (2, 32, 32, 3) and small.captions == cs.captions[:2]


def test_load_coco_written_by_hand(tmp_path):
    from PIL import Image

    (tmp_path / "img").mkdir()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(tmp_path / "img" / "a.jpg")
    Image.new("L", (50, 50), 128).save(tmp_path / "img" / "b.png")   # greyscale: made RGB
    Image.new("RGB", (20, 20), (0, 0, 255)).save(tmp_path / "img" / "c.png")  # no caption
    meta = {
        "images": [{"id": 7, "file_name": "a.jpg"}, {"id": 3, "file_name": "b.png"},
                   {"id": 9, "file_name": "c.png"}],
        "annotations": [
            {"image_id": 3, "id": 1, "caption": "  A grey  SQUARE,\nfilling it.  "},
            {"image_id": 7, "id": 2, "caption": "A red picture!"},
            {"image_id": 7, "id": 3, "caption": "The dog's red blanket"},
            {"image_id": 7, "id": 4, "caption": "..."},  # empty after normalising: dropped
        ],
    }
    path = tmp_path / "captions_train.json"
    path.write_text(json.dumps(meta))
    cs = cap.load_coco(path, tmp_path / "img", size=16)
    assert cs.captions == [["a red picture", "the dogs red blanket"], ["a grey square filling it"]]
    assert cs.images.shape == (2, 16, 16, 3)
    assert abs(int(cs.images[0, 8, 8, 0]) - 200) < 12 and tuple(cs.images[1, 8, 8]) == (128, 128, 128)
    assert cap.load_coco(path, tmp_path / "img", limit=0).images.shape == (0, 64, 64, 3)

    with pytest.raises(FileNotFoundError, match="nowhere.json"):
        cap.load_coco(tmp_path / "nowhere.json", tmp_path / "img")
    with pytest.raises(FileNotFoundError, match="no image folder"):
        cap.load_coco(path, tmp_path / "missing")
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [\n{"id": 1,}\n]}')
    with pytest.raises(ValueError, match=r"bad.json: not valid JSON \(line 2"):
        cap.load_coco(bad, tmp_path / "img")
    bad.write_text(json.dumps({"images": []}))
    with pytest.raises(ValueError, match="missing key 'annotations'"):
        cap.load_coco(bad, tmp_path / "img")
    bad.write_text(json.dumps({"images": [{"id": 1}], "annotations": []}))
    with pytest.raises(ValueError, match=r"images\[0\] has no key 'file_name'"):
        cap.load_coco(bad, tmp_path / "img")
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}],
                               "annotations": [{"image_id": 1, "caption": "x"}, {"image_id": 1}]}))
    with pytest.raises(ValueError, match=r"annotations\[1\] has no key 'caption'"):
        cap.load_coco(bad, tmp_path / "img")
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}],
                               "annotations": [{"image_id": 2, "caption": "x"}]}))
    with pytest.raises(ValueError, match="image_id 2, which 'images' does not list"):
        cap.load_coco(bad, tmp_path / "img")
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "gone.jpg"}],
                               "annotations": [{"image_id": 1, "caption": "x"}]}))
    with pytest.raises(FileNotFoundError, match="'gone.jpg'"):
        cap.load_coco(bad, tmp_path / "img")


def test_load_flickr8k(tmp_path):
    token, folder = cap.write_fixture(tmp_path / "f8k", "flickr8k", n=3)
    lines = token.read_text().splitlines()
    assert re.fullmatch(r"fixture_000\.png#0\t[A-Z].*\.", lines[0])
    cs = cap.load_flickr8k(token, folder)
    assert cs.images.shape == (3, 64, 64, 3) and cs.objects == [[], [], []]
    rng = random.Random(cap.SEEDS["valid"])
    want = []
    for _ in range(3):
        objs = cap._scene_objects(rng, "valid")
        want.append(list(cap.describe(objs, rng)))
    assert cs.captions == want
    assert len(cap.load_flickr8k(token, folder, limit=2).captions) == 2

    from PIL import Image
    Image.new("RGB", (10, 10)).save(tmp_path / "x.jpg")
    own = tmp_path / "Flickr8k.token.txt"
    own.write_text("\ufeffx.jpg#0\tA child in a pink dress .\r\n\r\nx.jpg#1\tA girl going into a "
                   "wooden building .\r\n", encoding="utf-8")
    cs = cap.load_flickr8k(own, tmp_path, size=8)
    assert cs.captions == [["a child in a pink dress", "a girl going into a wooden building"]]
    assert cs.images.shape == (1, 8, 8, 3)
    own.write_text("x.jpg#0\tok\nx.jpg#1 no tab here\n")
    with pytest.raises(ValueError, match=r"Flickr8k.token.txt:2: .*no tab"):
        cap.load_flickr8k(own, tmp_path)
    own.write_text("x.jpg\tno number\n")
    with pytest.raises(ValueError, match=r"Flickr8k.token.txt:1: expected '<image>#<k>'"):
        cap.load_flickr8k(own, tmp_path)
    own.write_text("x.jpg#0\tok\ny.jpg#0\tmissing image\n")
    with pytest.raises(FileNotFoundError, match=r"Flickr8k.token.txt:2.*'y.jpg'"):
        cap.load_flickr8k(own, tmp_path)
    with pytest.raises(FileNotFoundError, match="no Flickr8k token file"):
        cap.load_flickr8k(tmp_path / "none.txt", tmp_path)
    with pytest.raises(ValueError, match="layout"):
        cap.write_fixture(tmp_path, "voc")


# --------------------------------------------------------------------------- make data

def test_prepare_writes_the_files_with_a_manifest(built, tmp_path, monkeypatch):
    """data.prepare() writes captions/ with the other corpora (those stubbed: fast)."""
    from rnncourse import translation as tr

    monkeypatch.setenv(data.DATA_VARIABLE, str(tmp_path))
    others = {rel: "x\n" for rel in data._expected_files() if not rel.startswith("captions/")}
    monkeypatch.setattr(data, "_build_shakespeare", lambda report: {
        rel: t for rel, t in others.items() if rel.startswith("shakespeare/")})
    monkeypatch.setattr(data, "_build_names", lambda: {
        rel: t for rel, t in others.items() if rel.startswith("names/")})
    monkeypatch.setattr(tr, "build", lambda: {
        rel: t for rel, t in others.items() if rel.startswith("translation/")})
    monkeypatch.setattr(cap, "build", lambda: built[1])
    assert data.prepare() == tmp_path
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert set(cap.FILES) <= set(manifest["files"]) == data._expected_files()
    assert manifest["sources"]["pillow"] == cap.source_versions()["pillow"]
    for rel in cap.FILES:
        info = manifest["files"][rel]
        assert (tmp_path / rel).read_bytes() == built[1][rel]
        assert info["bytes"] == len(built[1][rel])
        if rel.endswith(".npz"):
            assert "lines" not in info  # binary
        else:
            assert info["lines"] == built[1][rel].count(b"\n") == cap.SPLIT_SIZES[rel[9:-5]] + 2
        assert info["source"] == f"pillow {manifest['sources']['pillow']}"
    assert manifest["files"]["names/train.txt"]["lines"] == 1  # text files keep their line count
    stamp = (tmp_path / cap.FILES[0]).stat().st_mtime_ns
    data.prepare()  # up to date: nothing rewritten
    assert (tmp_path / cap.FILES[0]).stat().st_mtime_ns == stamp
    assert len(cap.load("test").captions) == 500


def test_the_sandbox_view_has_train_and_valid_only(built, tmp_path, monkeypatch):
    from autograde import sandbox

    monkeypatch.setenv(data.DATA_VARIABLE, str(tmp_path / "src"))
    for rel in data._expected_files():  # stubs for the others, the real caption files
        (tmp_path / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / rel).write_bytes(built[1].get(rel, b"split\tplay\n"))
    monkeypatch.setattr(data, "prepare", lambda *a, **k: tmp_path / "src")
    view = sandbox.prepare_data_view(tmp_path / "view")
    assert sorted(p.name for p in (view / "captions").iterdir()) == [
        "train.json", "train.npz", "valid.json", "valid.npz"]
    monkeypatch.setenv(data.DATA_VARIABLE, str(view))
    assert len(cap.load("valid").captions) == 500


def test_missing_pillow_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_VARIABLE, str(tmp_path))
    monkeypatch.setattr(cap, "_MODULES", {"pillow": "no_such_module_rnncourse"})
    assert not cap.available() and cap.source_versions() == {}
    assert not set(cap.FILES) & data._expected_files()
    with pytest.raises(ModuleNotFoundError, match="pip install pillow=="):
        cap.load("train")


def test_true_captions_hold_every_reference_and_judge_by_meaning():
    from rnncourse import captions as C

    scenes = C.load("valid", limit=200)
    for caps, objs in zip(scenes.captions, scenes.objects):
        every = C.true_captions(objs)
        assert len(every) == (7 if len(objs) == 1 else 8) and len(set(every)) == len(every)
        assert set(caps) <= set(every), (caps, every)            # the references are drawn from them
        assert all(C.is_true(c, objs) for c in every)
    one = next(o for o in scenes.objects if len(o) == 1)[0]
    assert C.is_true(f"There is a {one.colour} {one.shape}.", [one])          # normalised first
    other_colour = next(c for c in C.COLOURS if c != one.colour)
    assert not C.is_true(f"a {other_colour} {one.shape}", [one])
    other_size = next(s for s in C.SIZES if s != one.size)
    assert not C.is_true(f"a {other_size} {one.colour} {one.shape}", [one])
    two = next(o for o in scenes.objects if len(o) == 2)
    rel = C.relation(*two)
    a, b = two
    assert C.is_true(f"a {a.colour} {a.shape} {rel} a {b.colour} {b.shape}", two)
    assert not C.is_true(f"a {b.colour} {b.shape} {rel} a {a.colour} {a.shape}", two)   # the relation reversed
    import pytest

    with pytest.raises(ValueError):
        C.true_captions([])
