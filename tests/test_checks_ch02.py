"""Chapter 2's checks, run in-process on the reference, on alternatives and on bugs.

Fast companions of test_grading.py: every planted bug must be caught (by the visible
check where a small case shows it, by the hidden check otherwise) with a message that
names the function; every correct alternative and the notebook's own solution must pass.
The model checks train small models (about 10 to 20 s each on 2 CPU cores).
"""
from __future__ import annotations


import numpy as np
import pytest

from autograde.hidden import ch02 as hidden
from autograde.reference import ch02 as ref
from rnncourse.checks import ch02 as visible
from rnncourse.checks.core import CheckFailed
from tests import fixtures_ch02
from tests.submissions import answer_sources, define

A = "ch02_rnn"
FUNCTIONS = ["rnn_step", "rnn_forward", "encode", "decode", "sequence_cross_entropy",
             "sample_with_temperature", "CharRNN", "LineClassifier"]
GIVEN = ("setup", "vocab")   # given cells whose code the answers may use


def _define(source: str, name: str):
    """``name`` defined by ``source`` among the notebook's given cells."""
    return define(A, GIVEN, source, name, drop=("info =", "device ="))


def _both(name, fn):
    getattr(visible, f"check_{name}")(fn)
    getattr(hidden, f"check_{name}")(fn)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_reference_passes_visible_and_hidden(name):
    _both(name, getattr(ref, name))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_notebook_solution_passes(name):
    _both(name, _define(answer_sources(A)[name], name))


@pytest.mark.parametrize("name", sorted(fixtures_ch02.ALTERNATIVES))
def test_correct_alternatives_pass(name):
    _both(name, _define(fixtures_ch02.ALTERNATIVES[name], name))


@pytest.mark.parametrize("name", sorted(fixtures_ch02.BUGS))
def test_planted_bugs_are_caught_with_a_useful_message(name):
    fn = _define(fixtures_ch02.BUGS[name], name)
    with pytest.raises(CheckFailed) as e:
        _both(name, fn)
    msg = str(e.value)
    assert name in msg
    assert any(w in msg for w in ("expected", "differ", "outside tolerance", "distribution", "depend",
                                  "must")), msg


def test_every_answer_cell_has_a_bug_and_a_check():
    answers = set(answer_sources(A))
    assert answers == set(FUNCTIONS) == set(fixtures_ch02.BUGS)


def test_stub_gets_not_implemented_message():
    def rnn_step(x, h_prev, W_xh, W_hh, b_h):
        raise NotImplementedError()
    with pytest.raises(CheckFailed, match="not implemented yet"):
        visible.check_rnn_step(rnn_step)


def test_char_rnn_quality_check_rejects_a_model_without_memory(monkeypatch):
    """The quality gate itself: a model whose logits ignore the history is a bigram
    model at best, and must not beat the bigram baseline by the margin."""
    bug = _define(fixtures_ch02.BUGS["CharRNN"], "CharRNN")
    monkeypatch.setattr(hidden, "cases", lambda n: range(0))   # skip the structural cases
    with pytest.raises(CheckFailed, match="must beat the add-k character bigram"):
        hidden.check_CharRNN(bug)


def test_classifier_quality_check_rejects_a_constant_model(monkeypatch):
    import torch

    class Constant(torch.nn.Module):
        def __init__(self, vocab_size, embed_size, hidden_size, num_classes):
            super().__init__()
            self.bias = torch.nn.Parameter(torch.zeros(num_classes))

        def forward(self, ids, lengths):
            return self.bias.expand(ids.shape[0], -1)
    monkeypatch.setattr(hidden, "cases", lambda n: range(0))
    with pytest.raises(CheckFailed, match="must beat always predicting the majority"):
        hidden.check_LineClassifier(Constant)


def test_hidden_sampler_check_does_not_depend_on_global_random_state():
    base = _define(fixtures_ch02.ALTERNATIVES["sample_with_temperature"], "sample_with_temperature")

    def noisy(logits, temperature, rng):
        np.random.random(3)
        return base(logits, temperature, rng)
    for s in (0, 1):
        np.random.seed(s)
        hidden.check_sample_with_temperature(noisy)


def test_bigram_baseline_matches_a_dictionary_count():
    names = ["ab", "ba", "abc"]
    vocab = ref.build_vocab(names)
    V = len(vocab)
    # pairs: (eos,a) (a,b) (b,eos) | (eos,b) (b,a) (a,eos) | (eos,a) (a,b) (b,c) (c,eos)
    from collections import Counter
    seqs = [["<eos>"] + list(n) + ["<eos>"] for n in names]
    pairs = Counter((s[i], s[i + 1]) for s in seqs for i in range(len(s) - 1))
    prev = Counter(p for p, _ in pairs.elements())
    k = 0.5
    nll = [-np.log((pairs[(s[i], s[i + 1])] + k) / (prev[s[i]] + k * V)) for s in seqs for i in range(len(s) - 1)]
    assert ref.bigram_nll(names, names, vocab, k) == pytest.approx(np.mean(nll))


SAMPLER_BUGS = {
    # T = 0 draws a number first (the generator moves on) although the docstring says it does not
    "t0_draws": '''
def sample_with_temperature(logits, temperature, rng):
    if temperature < 0:
        raise ValueError("T < 0")
    u = rng.random()
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits / temperature
    p = np.exp(z - z.max()); p /= p.sum()
    return int(np.searchsorted(np.cumsum(p), u * p.sum(), side="right").clip(0, len(p) - 1))
''',
    # T = 0 breaks ties at random
    "t0_random_ties": '''
def sample_with_temperature(logits, temperature, rng):
    if temperature < 0:
        raise ValueError("T < 0")
    if temperature == 0:
        best = np.flatnonzero(logits == logits.max())
        return int(best[-1])
    z = logits / temperature
    p = np.exp(z - z.max()); p /= p.sum()
    return int(rng.choice(len(p), p=p))
''',
    # divides the caller's logits in place
    "in_place_logits": '''
def sample_with_temperature(logits, temperature, rng):
    if temperature < 0:
        raise ValueError("T < 0")
    if temperature == 0:
        return int(np.argmax(logits))
    logits /= temperature
    logits -= logits.max()
    p = np.exp(logits); p /= p.sum()
    return int(rng.choice(len(p), p=p))
''',
}


@pytest.mark.parametrize("label", sorted(SAMPLER_BUGS))
def test_sampler_docstring_promises_are_checked(label):
    fn = _define(SAMPLER_BUGS[label], "sample_with_temperature")
    with pytest.raises(CheckFailed, match="sample_with_temperature"):
        visible.check_sample_with_temperature(fn)


@pytest.mark.parametrize("label", sorted(fixtures_ch02.MORE_BUGS))
def test_more_bugs_are_caught_by_the_visible_check(label):
    """Each MORE_BUGS entry breaks one settled promise (masked positions hold anything,
    float64 states, inputs unchanged, tiny vocabularies, range checks after EOS, large
    logits, the constructor's argument order); the student's own visible check shows it."""
    name, source = fixtures_ch02.MORE_BUGS[label]
    with pytest.raises(CheckFailed) as e:
        getattr(visible, f"check_{name}")(_define(source, name))
    assert name in str(e.value)


@pytest.mark.parametrize("label", sorted(k for k, v in fixtures_ch02.MORE_BUGS.items() if v[0] not in ("CharRNN",)))
def test_more_bugs_are_caught_by_the_hidden_check(label):
    name, source = fixtures_ch02.MORE_BUGS[label]
    with pytest.raises(CheckFailed):
        getattr(hidden, f"check_{name}")(_define(source, name))


def test_feedback_names_the_changed_argument():
    name, source = fixtures_ch02.MORE_BUGS["rnn_forward_writes_h0"]
    with pytest.raises(CheckFailed, match="rnn_forward changed its argument `h0`"):
        visible.check_rnn_forward(_define(source, name))
