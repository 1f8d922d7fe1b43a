"""Chapter 6's generated translation data (rnncourse.translation): offline, never touching data/."""
from __future__ import annotations

import datetime
import json
import re

import numpy as np
import pytest

from rnncourse import data
from rnncourse import translation as tr

pytest.importorskip("babel")
pytest.importorskip("num2words")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The four files, built once (about 5 s) into a temporary RNNCOURSE_DATA."""
    root = tmp_path_factory.mktemp("translation-data")
    texts = tr.build()
    for rel, text in texts.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8", newline="")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(data.DATA_VARIABLE, str(root))
        yield root, texts


@pytest.fixture
def env(built, monkeypatch):
    monkeypatch.setenv(data.DATA_VARIABLE, str(built[0]))
    return built[0]


@pytest.fixture(scope="module")
def recs(built):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(data.DATA_VARIABLE, str(built[0]))
        return {s: tr.records(s) for s in tr.SPLITS}


# --------------------------------------------------------------------------- the files

def test_build_is_deterministic(built, monkeypatch):
    texts = built[1]
    assert list(texts) == list(tr.FILES)
    for split, rel in zip(tr.SPLITS, tr.FILES):
        lines = texts[rel].split("\n")
        assert lines[0] == "\t".join(tr.HEADER) and lines[-1] == ""
        assert len(lines) - 2 == sum(tr.SIZES[split].values())
    # The same procedure twice gives the same bytes (on smaller sizes, to stay fast).
    small = {s: {part: n // 20 for part, n in sizes.items()} for s, sizes in tr.SIZES.items()}
    monkeypatch.setattr(tr, "SIZES", small)
    first, second = tr.build(), tr.build()
    assert first == second
    assert {rel: t.encode("utf-8") for rel, t in first.items()} == {
        rel: t.encode("utf-8") for rel, t in second.items()}


def test_split_sizes_and_kinds(recs):
    for split in ("train", "valid", "test"):
        kinds = [r.kind for r in recs[split]]
        assert kinds.count("date") == tr.SIZES[split]["date"]
        assert kinds.count("number") == tr.SIZES[split]["number"]
        assert len({r.source for r in recs[split]}) == len(recs[split])  # no repeated source
    assert len(recs["hard"]) == sum(tr.SIZES["hard"].values())
    assert len({r.source for r in recs["hard"]}) == len(recs["hard"])


def test_underlying_values_of_held_out_splits_never_in_train(recs):
    train = {r.target for r in recs["train"]}
    for split in ("valid", "test", "hard"):
        assert not train & {r.target for r in recs[split]}, split
    assert not {r.target for r in recs["valid"]} & {r.target for r in recs["test"]}


def test_hard_split_holds_out_a_locale_a_format_and_longer_numbers(recs):
    train, hard = recs["train"], recs["hard"]
    seen = {(r.locale, r.format) for r in train}
    assert tr.HELD_OUT_LOCALE not in {r.locale for r in train}
    assert tr.HELD_OUT_FORMAT not in {r.format for r in train}
    assert max(len(r.target) for r in train if r.kind == "number") == 6
    parts = {"locale": 0, "format": 0, "digits": 0}
    for r in hard:
        if r.kind == "number":
            assert len(r.target) == 7 and 1_000_000 <= int(r.target) <= 9_999_999
            parts["digits"] += 1
        elif r.locale == tr.HELD_OUT_LOCALE:
            assert r.format in tr.DATE_FORMATS
            parts["locale"] += 1
        else:
            assert r.format == tr.HELD_OUT_FORMAT and r.locale in tr.DATE_LOCALES
            parts["format"] += 1
        if r.kind == "date":
            assert (r.locale, r.format) not in seen
    assert parts == tr.SIZES["hard"]
    # in distribution: valid and test use only combinations train has
    for split in ("valid", "test"):
        assert {(r.locale, r.format) for r in recs[split]} <= seen


def test_targets_are_iso_dates_or_digits_and_match_their_sources(recs):
    from babel.dates import format_date
    from num2words import num2words

    iso = re.compile(r"\d{4}-\d{2}-\d{2}")
    for split, rows in recs.items():
        for r in rows:
            assert r.kind in tr.KINDS
            if r.kind == "date":
                assert iso.fullmatch(r.target), r
                d = datetime.date.fromisoformat(r.target)
                assert tr.FIRST_DATE <= d <= tr.LAST_DATE
            else:
                assert r.target.isdigit() and (r.target == "0" or r.target[0] != "0"), r
                assert r.format == "words" and r.locale in tr.NUMBER_LANGS
        for r in rows[:150]:  # the source really is the target written out
            if r.kind == "date":
                assert format_date(datetime.date.fromisoformat(r.target), format=r.format,
                                   locale=r.locale) == r.source
            else:
                assert num2words(int(r.target), lang=r.locale) == r.source
    # Two-digit years are read with the 1950-2049 pivot.
    two = [r for r in recs["train"] if r.kind == "date" and tr._two_digit_year(r.locale, r.format)]
    assert two and all("1950" <= r.target[:4] <= "2049" for r in two)
    assert all(r.format != "short" or r.locale != "en_US" for rows in recs.values() for r in rows)


def test_each_source_has_one_target(recs):
    target = {}
    for rows in recs.values():
        for r in rows:
            assert target.setdefault(r.source, r.target) == r.target


# --------------------------------------------------------------------------- loaders

def test_pairs_and_records(env):
    p = tr.pairs("valid")
    assert len(p) == 2000 and all(isinstance(s, str) and isinstance(t, str) for s, t in p)
    assert tr.pairs("valid", limit=5) == p[:5]
    dates = tr.pairs("test", kind="date", limit=10)
    assert len(dates) == 10 and all(re.fullmatch(r"\d{4}-\d\d-\d\d", t) for _, t in dates)
    assert all(t.isdigit() for _, t in tr.pairs("test", kind="number"))
    r = tr.records("hard")[0]
    assert (r.source, r.target) == tr.pairs("hard")[0] and r._fields == tr.HEADER
    with pytest.raises(ValueError, match="'train', 'valid', 'test', 'hard'"):
        tr.pairs("dev")
    with pytest.raises(ValueError, match="kind"):
        tr.pairs("train", kind="time")


def test_vocab_round_trips_every_example(env, recs):
    vs, vt = tr.vocabs()
    assert vs.itos[:4] == ["<pad>", "<sos>", "<eos>", "<unk>"] == vt.itos[:4]
    assert (tr.PAD_ID, tr.SOS_ID, tr.EOS_ID, tr.UNK_ID) == (0, 1, 2, 3)
    assert "".join(vt.chars) == "-0123456789"
    assert len(vs) < 120 and vs.chars == sorted(vs.chars)
    for rows in recs.values():
        for r in rows:
            ids = vs.encode(r.source)
            assert tr.UNK_ID not in ids and vs.decode(ids) == r.source
            assert vt.decode(vt.encode(r.target) + [tr.EOS_ID, 7, 8]) == r.target
    assert vs.encode("5\u263a") == [vs.stoi["5"], tr.UNK_ID]
    assert vs.decode([tr.SOS_ID, vs.stoi["5"], tr.UNK_ID, tr.PAD_ID, tr.EOS_ID, 9]) == "5\ufffd"
    assert vs.decode(np.array(vs.encode("mars"))) == "mars"
    assert tr.Vocab.from_texts(["ba", "c"]).itos[4:] == ["a", "b", "c"]


def test_batch_shapes_and_masks(env):
    vs, vt = tr.vocabs()
    pairs = [("douze", "12"), ("4 mars 2005", "2005-03-04"), ("zero", "0")]
    src, src_len, tgt_in, tgt_out, mask = tr.batch(pairs, vs, vt)
    assert src.shape == (3, 11) and src.dtype == np.int64
    assert src_len.tolist() == [5, 11, 4] and src_len.dtype == np.int64
    assert tgt_in.shape == tgt_out.shape == mask.shape == (3, 11)
    assert tgt_in.dtype == tgt_out.dtype == np.int64 and mask.dtype == bool
    assert (src[0, 5:] == 0).all() and vs.decode(src[1]) == "4 mars 2005"
    assert (tgt_in[:, 0] == tr.SOS_ID).all()
    assert mask.sum(1).tolist() == [3, 11, 2]
    for i, (_, t) in enumerate(pairs):
        n = len(t)
        assert tgt_out[i, n] == tr.EOS_ID and vt.decode(tgt_out[i]) == t
        assert vt.decode(tgt_in[i, 1:]) == t
        assert (tgt_in[i, 1 : n + 1] == tgt_out[i, :n]).all()  # shifted by one step
        assert (tgt_out[i, ~mask[i]] == 0).all() and (tgt_in[i, n + 1 :] == 0).all()
    with pytest.raises(ValueError, match="empty source"):
        tr.batch([("", "1")], vs, vt)


def test_load_parallel_tsv(tmp_path):
    path = tmp_path / "fra.txt"
    path.write_text(
        "\ufeffGo.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\r\n"
        'Hi.\t"Salut !"\tCC-BY 2.0\n\nRun!\tCours\u202f!\tCC-BY 2.0\n', encoding="utf-8")
    assert tr.load_parallel_tsv(path) == [("Go.", "Va !"), ("Hi.", '"Salut !"'), ("Run!", "Cours\u202f!")]
    assert tr.load_parallel_tsv(str(path), source_column=1, target_column=0, limit=1) == [("Va !", "Go.")]
    assert tr.load_parallel_tsv(path, target_column=2)[0][1].startswith("CC-BY")
    bad = tmp_path / "bad.txt"
    bad.write_text("Go.\tVa !\nHello, there friend\nOk\tD'accord\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        tr.load_parallel_tsv(bad)
    msg = str(err.value)
    assert "bad.txt:2:" in msg and "expected at least 2 tab-separated columns" in msg
    assert "found 1" in msg and "'Hello, there friend'" in msg
    assert tr.load_parallel_tsv(bad, limit=1) == [("Go.", "Va !")]  # stops before line 2
    empty = tmp_path / "empty.txt"
    empty.write_text("Go.\t \n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty.txt:1: empty target \(column 1\)"):
        tr.load_parallel_tsv(empty)
    with pytest.raises(FileNotFoundError, match="manythings.org/anki"):
        tr.load_parallel_tsv(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="same column"):
        tr.load_parallel_tsv(path, source_column=1, target_column=1)


# --------------------------------------------------------------------------- make data

def test_prepare_writes_the_files_with_a_manifest(built, tmp_path, monkeypatch):
    """data.prepare() writes translation/ with the other corpora (those stubbed: fast)."""
    monkeypatch.setenv(data.DATA_VARIABLE, str(tmp_path))
    others = {rel: "x\n" for rel in data._expected_files() if not rel.startswith("translation/")}
    monkeypatch.setattr(data, "_build_shakespeare", lambda report: {
        rel: t for rel, t in others.items() if rel.startswith("shakespeare/")})
    monkeypatch.setattr(data, "_build_names", lambda: {
        rel: t for rel, t in others.items() if rel.startswith("names/")})
    monkeypatch.setattr(tr, "build", lambda: built[1])
    assert data.prepare() == tmp_path
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert set(tr.FILES) <= set(manifest["files"]) == data._expected_files()
    assert {"babel", "num2words"} <= set(manifest["sources"])
    for rel in tr.FILES:
        info = manifest["files"][rel]
        assert (tmp_path / rel).read_text(encoding="utf-8") == built[1][rel]
        assert info["lines"] == built[1][rel].count("\n")
        assert info["source"] == ", ".join(f"{p} {manifest['sources'][p]}" for p in tr.SOURCES)
    stamp = (tmp_path / tr.FILES[0]).stat().st_mtime_ns
    data.prepare()  # up to date: nothing rewritten
    assert (tmp_path / tr.FILES[0]).stat().st_mtime_ns == stamp
    assert len(tr.pairs("train")) == 60_000


def test_missing_generator_package_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_VARIABLE, str(tmp_path))
    monkeypatch.setattr(tr, "SOURCES", {"babel": "2.19.0", "no_such_package_rnncourse": "1.0"})
    assert not tr.available() and tr.source_versions() == {}
    assert not set(tr.FILES) & data._expected_files()  # prepare() skips chapter 6's files
    with pytest.raises(ModuleNotFoundError, match="pip install no_such_package_rnncourse==1.0"):
        tr.records("train")
