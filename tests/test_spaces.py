"""rnncourse.spaces: chapter 5's space-restoring data, its fixed training loop and scores."""
from __future__ import annotations

import numpy as np
import pytest

from rnncourse import spaces as S

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def train():
    return S.space_task("train", max_len=40, limit=3000)


@pytest.fixture(scope="module")
def test_task(train):
    return S.space_task("test", limit=2000, vocab=train.vocab)


def test_labels_restore_every_line_exactly(train, test_task):
    for task in (train, test_task):
        assert len(task.texts) == len(task.ids) == len(task.lengths) == len(task.labels) == len(task.mask)
        for i, (text, inp) in enumerate(zip(task.texts, task.inputs)):
            assert S.restore(inp, task.labels[i]) == text
            assert len(inp) == task.lengths[i] and " " not in inp
            # the ids spell the input (unknown characters aside)
            assert [task.vocab[k] for k in task.ids[i, :len(inp)]] == [c if c in task.vocab else S.UNK for c in inp]
            assert task.labels[i, len(inp) - 1] == 0
            assert task.labels[i].sum() == text.count(" ")


def test_lines_are_cleaned_and_have_two_words(train):
    for text in train.texts:
        assert text == " ".join(text.split()) and text.count(" ") >= 1
    assert int(train.lengths.max()) <= 40 and len(train) == 3000


def test_layout_dtypes_padding_and_mask(train):
    n, L = train.ids.shape
    assert L == int(train.lengths.max())
    assert train.ids.dtype == np.int64 and train.lengths.dtype == np.int64 and train.labels.dtype == np.int64
    assert train.mask.dtype == np.bool_ and train.labels.shape == train.mask.shape == (n, L)
    assert np.array_equal(train.mask, np.arange(L)[None] < train.lengths[:, None])
    assert np.all(train.ids[~train.mask] == S.PAD_ID) and np.all(train.labels[~train.mask] == 0)
    assert np.all(train.ids[train.mask] >= 2)            # every training character is known
    assert set(np.unique(train.labels)) == {0, 1}


def test_vocab_comes_from_train_and_unknown_characters_get_id_1(train, test_task):
    assert train.vocab[:2] == [S.PAD, S.UNK] and train.vocab == S.train_vocab()
    assert train.vocab[2:] == sorted(train.vocab[2:]) and " " not in train.vocab
    assert S.space_task("valid", limit=5).vocab == train.vocab      # vocab=None: the train split's
    # The test plays have digits, which no training play has: they are unknown.
    digits = [(i, t) for i, inp in enumerate(test_task.inputs) for t, c in enumerate(inp) if c not in train.vocab]
    assert digits and all(test_task.ids[i, t] == S.UNK_ID for i, t in digits)
    own = S.from_texts(["ab c", "Zq\u00e9 x"], vocab=[S.PAD, S.UNK, "a", "b", "c", "x"])
    assert own.ids.tolist() == [[2, 3, 4, 0], [1, 1, 1, 5]]
    assert own.labels.tolist() == [[0, 1, 0, 0], [0, 0, 1, 0]]
    with pytest.raises(ValueError):
        S.from_texts(["a b"], vocab=["a", "b"])


def test_limit_and_max_len_are_deterministic_prefixes(train):
    small = S.space_task("train", max_len=40, limit=100)
    assert small.texts == train.texts[:100]
    assert np.array_equal(small.ids, train.ids[:100, :small.ids.shape[1]])
    assert len(S.space_task("train", limit=0)) == 0
    with pytest.raises(ValueError):
        S.space_task("dev")
    with pytest.raises(ValueError):
        S.space_task("train", max_len=1)


def test_edge_cases_two_one_letter_words():
    t = S.from_texts(["a  b", " I\tO "], vocab=[S.PAD, S.UNK, "I", "O", "a", "b"])
    assert t.texts == ["a b", "I O"] and t.lengths.tolist() == [2, 2]
    assert t.labels.tolist() == [[1, 0], [1, 0]] and t.ids.tolist() == [[4, 5], [2, 3]]
    assert S.restore("ab", t.labels[0]) == "a b"
    assert S.restore("ab", [1, 1]) == "a b"                # no space after the last character
    assert S.restore("ab", [0, 0, 1, 1]) == "ab"           # a padded row: the rest is ignored
    assert S.restore("", []) == ""
    with pytest.raises(ValueError):
        S.restore("abc", [1, 0])


def test_accuracy_and_f1_by_hand():
    labels = np.array([[1, 0, 0, 1], [0, 1, 0, 0]])
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=bool)
    pred = np.array([[1, 1, 0, 0], [0, 1, 1, 1]])                 # last two are masked
    logits = np.stack([1 - pred, pred], -1).astype(np.float32)
    # masked: gold 1 0 0 1 0 1, pred 1 1 0 0 0 1 -> 4/6 right; TP 2, FP 1, FN 1 -> F1 4/6
    assert S.accuracy(logits, labels, mask) == pytest.approx(4 / 6)
    assert S.f1(logits, labels, mask) == pytest.approx(4 / 6)
    tie = np.zeros(labels.shape + (2,), np.float32)               # ties go to class 0
    assert S.accuracy(tie, labels, mask) == pytest.approx(3 / 6) and S.f1(tie, labels, mask) == 0.0
    with pytest.raises(ValueError):
        S.accuracy(logits[:, :3], labels, mask)


class TinyTagger(torch.nn.Module):
    """A forward-only LSTM tagger, for the loop's tests (not the exercise's model)."""

    def __init__(self, vocab_size):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab_size, 8)
        self.rnn = torch.nn.LSTM(8, 16, batch_first=True)
        self.out = torch.nn.Linear(16, 2)
        self.seen = []

    def forward(self, ids, lengths):
        self.seen.append((tuple(ids.shape), lengths.device, int(lengths.max())))
        return self.out(self.rnn(self.embed(ids))[0])


@pytest.fixture
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_train_tagger_decreases_the_loss_and_trims_batches(train, one_thread):
    torch.manual_seed(0)
    model = TinyTagger(len(train.vocab))
    before = [p.detach().clone() for p in model.parameters()]
    ids = train.ids.copy()
    losses = S.train_tagger(model, train.ids, train.lengths, train.labels, train.mask, steps=40, batch_size=16,
                            lr=0.02, seed=0)
    assert losses.shape == (40,) and np.all(np.isfinite(losses))
    assert losses[-10:].mean() < 0.8 * losses[:5].mean(), losses
    assert np.array_equal(ids, train.ids)                                   # inputs untouched
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(shape[1] == top for shape, _, top in model.seen)              # cut to the longest line
    assert all(dev == torch.device("cpu") for _, dev, _ in model.seen)
    # same seed, same init -> same losses
    torch.manual_seed(0)
    again = S.train_tagger(TinyTagger(len(train.vocab)), train.ids, train.lengths, train.labels, train.mask,
                           steps=8, batch_size=16, lr=0.02, seed=0)
    assert np.allclose(losses[:8], again)

    logits = S.tagger_logits(model, train.ids[:300], train.lengths[:300], batch_size=128)
    assert logits.shape == train.ids[:300].shape + (2,) and logits.dtype == np.float32
    assert not model.training
    assert 0.0 <= S.accuracy(logits, train.labels[:300], train.mask[:300]) <= 1.0


def test_a_model_with_the_wrong_output_shape_gets_a_clear_error(train):
    class Flat(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(1, 2)

        def forward(self, ids, lengths):
            return self.lin(ids[:, :1].float())         # (B, 2): one prediction per line

    with pytest.raises(ValueError, match=r"\(B, T, 2\)"):
        S.train_tagger(Flat(), train.ids, train.lengths, train.labels, train.mask, steps=1)
    with pytest.raises(ValueError, match=r"\(B, T, 2\)"):
        S.tagger_logits(Flat(), train.ids[:4], train.lengths[:4])
