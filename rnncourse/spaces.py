"""Restoring spaces: chapter 5's bidirectional tagging task, its data and its fixed loop.

A line of Shakespeare has its spaces removed; at every remaining character a tagger says
whether a space followed it in the original line::

    original  "Now, fair Hippolyta"
    input     "Now,fairHippolyta"
    labels     0001000100000000 0      (1 after "," and after "r"; the last label is 0)

Where a word ends depends on the characters *after* it ("fair" + "H..." versus "fai" +
"r..."), so a bidirectional model should beat its one-directional twin clearly.

Typical use::

    from rnncourse import spaces
    train = spaces.space_task("train", max_len=40, limit=4000)
    test = spaces.space_task("test", vocab=train.vocab)        # always the train vocab
    losses = spaces.train_tagger(model, train.ids, train.lengths, train.labels, train.mask, steps=300)
    logits = spaces.tagger_logits(model, test.ids, test.lengths)
    spaces.accuracy(logits, test.labels, test.mask), spaces.f1(logits, test.labels, test.mask)

The graders train a student's ``SpaceRestorer(vocab_size, embed_size, hidden_size,
bidirectional)`` with exactly :func:`train_tagger` and score :func:`tagger_logits` on
held-out lines whose labels stay in the grader's process.  Nothing here knows the
exercise's answer (the model).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "PAD", "UNK", "PAD_ID", "UNK_ID",
    "SpaceTask", "clean_line", "space_task", "from_texts", "train_vocab",
    "train_tagger", "tagger_logits", "accuracy", "f1", "restore",
]

PAD, UNK = "<pad>", "<unk>"
"""``vocab[0]`` and ``vocab[1]``: padding, and any character not seen in the training split."""
PAD_ID, UNK_ID = 0, 1


@dataclass
class SpaceTask:
    """Padded lines without spaces and, per character, whether a space followed it.

    Attributes:
        vocab: list of str; ``vocab[0] == PAD`` (padding id 0), ``vocab[1] == UNK`` (id 1,
            every character not in the vocabulary), then the characters of the training
            split in sorted order (ids 2, 3, ...).
        ids: (N, L) int64, the characters of each line with its spaces removed, padded
            with 0 beyond its length; L is the longest kept line.
        lengths: (N,) int64, characters per line (spaces removed), each at least 2.
        labels: (N, L) int64, 1 where a space followed the character in the original
            line, else 0; 0 at the last character of a line and at padding.
        mask: (N, L) bool, True at the characters of the lines (``t < lengths[i]``).
        texts: list of N str, the original lines (whitespace runs made one space, stripped).
    """

    vocab: list
    ids: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    texts: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @functools.cached_property
    def inputs(self) -> list:
        """The lines with their spaces removed (what the model reads), as str."""
        return [t.replace(" ", "") for t in self.texts]


def clean_line(text: str) -> str:
    """Runs of whitespace made one space, ends stripped: ``"  a \\t b "`` -> ``"a b"``."""
    return " ".join(text.split())


@functools.lru_cache(maxsize=8)
def _lines(split: str, data_dir: str) -> tuple:
    """The cleaned lines of a split with at least two words (cached per data folder)."""
    from rnncourse import data

    out = []
    for row in data.shakespeare_lines(split):
        text = clean_line(row["text"])
        if text.count(" ") >= 1:   # at least two words
            out.append(text)
    return tuple(out)


def _split_lines(split: str) -> tuple:
    from rnncourse import data

    return _lines(data._check_split(split), str(data.data_dir()))


def train_vocab() -> list:
    """The vocabulary of the training split: ``[PAD, UNK, *sorted characters]``."""
    return list(_train_vocab(_data_key()))


def _data_key() -> str:
    from rnncourse import data

    return str(data.data_dir())


@functools.lru_cache(maxsize=4)
def _train_vocab(data_dir: str) -> tuple:
    chars = set("".join(_lines("train", data_dir))) - {" "}
    return (PAD, UNK, *sorted(chars))


def _check_vocab(vocab) -> list:
    vocab = list(vocab)
    if len(vocab) < 2 or vocab[0] != PAD or vocab[1] != UNK:
        raise ValueError(f"vocab must start with {PAD!r}, {UNK!r} (ids 0 and 1), got {vocab[:2]!r}")
    for c in vocab[2:]:
        if not isinstance(c, str) or len(c) != 1 or c.isspace():
            raise ValueError(f"vocab entries after the first two must be single non-space characters, got {c!r}")
    if len(set(vocab)) != len(vocab):
        raise ValueError("vocab has repeated entries")
    return vocab


def _encode(texts: list, vocab: list):
    """ids, lengths, labels, mask of cleaned lines (vectorised over all characters)."""
    n = len(texts)
    # One string for all lines, "\n" between them (a cleaned line has no newline).
    joined = "\n".join(texts) + "\n"
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    is_space, is_end = cp == 32, cp == 10
    keep = ~(is_space | is_end)
    follows_space = np.zeros_like(is_space)
    follows_space[:-1] = is_space[1:]
    row = np.cumsum(is_end) - is_end          # line index of every position
    row, codes, lab = row[keep], cp[keep], follows_space[keep]
    lengths = np.bincount(row, minlength=n).astype(np.int64)
    L = int(lengths.max()) if n else 0
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if n else np.zeros(0, np.int64)
    col = np.arange(len(row)) - starts[row]
    # Character -> id through a sorted table of code points (unknown -> UNK_ID).
    table_cp = np.array([ord(c) for c in vocab[2:]], dtype=np.int64)
    order = np.argsort(table_cp)
    table_cp, table_id = table_cp[order], (np.arange(2, len(vocab), dtype=np.int64))[order]
    if len(table_cp):
        pos = np.clip(np.searchsorted(table_cp, codes), 0, len(table_cp) - 1)
        char_ids = np.where(table_cp[pos] == codes, table_id[pos], UNK_ID)
    else:
        char_ids = np.full(len(codes), UNK_ID, dtype=np.int64)
    ids = np.zeros((n, L), dtype=np.int64)
    labels = np.zeros((n, L), dtype=np.int64)
    ids[row, col] = char_ids
    labels[row, col] = lab
    mask = np.arange(L)[None, :] < lengths[:, None]
    return ids, lengths, labels, mask


def space_task(split: str, *, max_len: int | None = None, limit: int | None = None, vocab=None) -> SpaceTask:
    """The space-restoring task on the speech lines of one split of the Shakespeare corpus.

    Lines come from :func:`rnncourse.data.shakespeare_lines` in corpus order (whole
    plays per split; the whole split, in either mode).  Each line's runs of whitespace
    become one space and its ends are stripped; lines of fewer than two words are dropped.
    The input is the line with every space removed; ``labels[i, t] = 1`` iff a space
    followed input character ``t`` in the line (so the last character's label is 0).

    Args:
        split: ``"train"``, ``"valid"`` or ``"test"``.
        max_len: keep only lines of at most this many characters once their spaces are
            removed (``None``: all).  Applied before ``limit``.
        limit: keep the first ``limit`` lines that remain (deterministic; ``None``: all).
        vocab: the vocabulary to encode with (``[PAD, UNK, chars...]``, e.g. the
            ``vocab`` of the training task); ``None`` builds it from the whole training
            split (not only the lines kept), so every split and every ``max_len`` /
            ``limit`` of the same data share it.  Characters not in it get id 1 (UNK).

    Returns:
        a :class:`SpaceTask`.

    Raises:
        ValueError: an unknown split, a bad vocab, ``max_len < 2`` or ``limit < 0``.
    """
    if max_len is not None and int(max_len) < 2:
        raise ValueError(f"max_len must be at least 2 (a line has two words), got {max_len}")
    if limit is not None and int(limit) < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    texts = _split_lines(split)
    vocab = train_vocab() if vocab is None else _check_vocab(vocab)
    if max_len is not None:
        texts = [t for t in texts if len(t) - t.count(" ") <= int(max_len)]
    texts = list(texts[:int(limit)] if limit is not None else texts)
    ids, lengths, labels, mask = _encode(texts, vocab)
    return SpaceTask(vocab=vocab, ids=ids, lengths=lengths, labels=labels, mask=mask, texts=texts)


def from_texts(texts, vocab) -> SpaceTask:
    """A :class:`SpaceTask` of lines of your own (cleaned like the corpus' lines; each
    needs two words), encoded with ``vocab``.  Raises ValueError for a line of one word."""
    texts = [clean_line(t) for t in texts]
    for t in texts:
        if " " not in t:
            raise ValueError(f"a line needs at least two words, got {t!r}")
    ids, lengths, labels, mask = _encode(texts, _check_vocab(vocab))
    return SpaceTask(vocab=list(vocab), ids=ids, lengths=lengths, labels=labels, mask=mask, texts=texts)



# --------------------------------------------------------------------------- training and scoring

def _check_logits(logits, B: int, L: int, who: str):
    shape = tuple(logits.shape)
    if shape != (B, L, 2):
        raise ValueError(f"{who}: the model must return logits of shape (B, T, 2) = {(B, L, 2)} "
                         f"for ids of shape {(B, L)}, got {shape}")


def train_tagger(model, ids, lengths, labels, mask, *, steps: int, batch_size: int = 64, lr: float = 0.005,
                 seed: int = 0, device: str | None = None) -> np.ndarray:
    """Train ``model(ids, lengths) -> logits (B, T, 2)`` to tag every character of padded
    lines: cross-entropy averaged over the positions of ``mask``.

    The loop is :func:`rnncourse.training.fixed_adam_loop` (Adam, seeded batches of
    ``batch_size`` lines drawn with replacement, gradient norm clipped at 1).  Each batch
    is cut to its longest line, ``T = lengths[batch].max()``; ``lengths`` is passed on the
    device of ``ids``.  ``device``: where ``model`` is (by default the device of its
    parameters); the batches are moved there.  Returns the training
    losses (steps,) float64.

    Raises:
        ValueError: the model's logits do not have shape (B, T, 2).
    """
    import torch

    from rnncourse.training import model_device

    device = model_device(model, device)
    import torch.nn.functional as F

    from rnncourse.training import fixed_adam_loop

    ids, lengths, labels, mask = (torch.as_tensor(np.asarray(a)) for a in (ids, lengths, labels, mask))
    mask = mask.bool()

    def batch_loss(idx):
        lb = lengths[idx]
        T = int(lb.max())
        xb = ids[idx, :T].to(device)
        logits = model(xb, lb.to(device))
        _check_logits(logits, len(idx), T, "train_tagger")
        mb = mask[idx, :T].to(device)
        return F.cross_entropy(logits[mb].float(), labels[idx, :T].to(device)[mb])
    return np.array(fixed_adam_loop(model, len(lengths), batch_loss, steps=steps, batch_size=batch_size, lr=lr,
                                    seed=seed))


def tagger_logits(model, ids, lengths, device: str | None = None, batch_size: int = 1024) -> np.ndarray:
    """Logits (N, L, 2) float32 of ``model`` on padded lines ``ids`` (N, L), in eval
    mode without gradients.  Each batch is cut to its longest line, as in training, and
    the logits are padded back to L with zeros (those positions are never scored)."""
    import torch

    from rnncourse.training import model_device

    device = model_device(model, device)

    ids = np.asarray(ids)
    lengths = np.asarray(lengths)
    N, L = ids.shape
    out = np.zeros((N, L, 2), dtype=np.float32)
    model.eval()
    with torch.no_grad():
        for s in range(0, N, batch_size):
            lb = torch.as_tensor(lengths[s:s + batch_size])
            T = int(lb.max())
            xb = torch.as_tensor(ids[s:s + batch_size, :T]).to(device)
            logits = model(xb, lb.to(device))
            _check_logits(logits, len(lb), T, "tagger_logits")
            out[s:s + len(lb), :T] = logits.float().cpu().numpy()
    return out


def _predictions(logits, labels, mask):
    logits, labels, mask = np.asarray(logits), np.asarray(labels), np.asarray(mask, dtype=bool)
    if logits.shape != labels.shape + (2,) or mask.shape != labels.shape:
        raise ValueError(f"logits {logits.shape}, labels {labels.shape} and mask {mask.shape} do not match "
                         "(logits must be labels' shape + (2,))")
    pred = (logits[..., 1] > logits[..., 0]).astype(np.int64)   # ties -> class 0 (lowest index)
    return pred[mask], labels[mask]


def accuracy(logits, labels, mask) -> float:
    """Fraction of the characters of ``mask`` whose argmax class (ties: 0) is the label."""
    pred, gold = _predictions(logits, labels, mask)
    return float(np.mean(pred == gold)) if len(gold) else float("nan")


def f1(logits, labels, mask) -> float:
    """F1 of class 1 ("a space follows") over the characters of ``mask``:
    2 TP / (2 TP + FP + FN); 0.0 when there is neither a predicted nor a true space."""
    pred, gold = _predictions(logits, labels, mask)
    tp = int(np.sum((pred == 1) & (gold == 1)))
    fp = int(np.sum((pred == 1) & (gold == 0)))
    fn = int(np.sum((pred == 0) & (gold == 1)))
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def restore(text_without_spaces: str, is_space_after) -> str:
    """Put the spaces back: a space after character ``t`` wherever ``is_space_after[t]``
    is true.  ``is_space_after`` may be longer than the text (a padded row of labels or
    predictions; the rest is ignored); the flag of the last character is ignored too, since
    a line never ends with a space.

    Raises:
        ValueError: ``is_space_after`` is shorter than the text.
    """
    flags = np.asarray(is_space_after).reshape(-1)
    n = len(text_without_spaces)
    if len(flags) < n:
        raise ValueError(f"is_space_after has {len(flags)} entries for a text of {n} characters")
    flags = flags[:n].tolist()
    return "".join(c + " " if flag and t < n - 1 else c for t, (c, flag) in enumerate(zip(text_without_spaces, flags)))
