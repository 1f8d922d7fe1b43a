"""Chapter 3's checks, run in-process on the reference, on alternatives and on bugs.

Fast companions of test_grading.py: every planted bug (``BUGS`` and ``MORE_BUGS``) must be
caught with a message that names the function (and a bug that breaks a promise of a
docstring, with the words of ``PROMISE_MESSAGES``, by the visible checks and by the hidden
ones alone); every correct alternative and the notebook's own solution must pass.  The train_tbptt checks train a small model on the
real corpus (about 5 s on one CPU thread).
"""
from __future__ import annotations


import numpy as np
import pytest

from autograde.hidden import ch03 as hidden
from autograde.reference import ch03 as ref
from rnncourse.checks import ch03 as visible
from rnncourse.checks.core import CheckFailed
from tests import fixtures_ch03
from tests.submissions import answer_sources, define

A = "ch03_bptt"
FUNCTIONS = ["rnn_step_backward", "rnn_backward", "grad_check", "autograd_gradients", "train_tbptt"]
GIVEN = ("setup", "given_rnn")   # given cells whose code the answers may use
ALL_BUGS = {**fixtures_ch03.BUGS, **fixtures_ch03.MORE_BUGS}

# the bugs that break a promise of a docstring (dtype, arguments left alone, default values,
# the exceptions, the sizes at the edge): the words their failure must contain, in the
# visible checks (as the student sees it) and in the hidden ones alone (as the grader does)
PROMISE_MESSAGES = {
    "step_float32": ("promises dtype float64, got dtype float32", "promises dtype float64, got dtype float32"),
    "step_mutates_dh": ("changed its argument `dh`", "changed its argument `dh`"),
    "backward_mutates_dhs": ("changed its argument `dhs`", "changed its argument `dhs`"),
    "grad_check_default_eps": ("without eps (the default is 1e-5)", "no eps given (the default, 1e-5)"),
    "grad_check_ignores_eps": ("grad_check(..., eps=0.001)", "eps = 0.001"),
    "autograd_returns_tensors": ("must be a numpy array", "must be a numpy array"),
    "tbptt_shares_params": ("changed its argument `params['W_xh']`", "changed its argument `params['W_xh']`"),
    "tbptt_float32_losses": ("losses: the docstring promises dtype float64", "losses: the docstring promises dtype float64"),
    "tbptt_no_size_checks": ("k=0", "k=0"),
    "tbptt_rejects_zero_steps": ("steps=0", "steps = 0"),
    "tbptt_ids_upper_bound_only": ("an id -1 among valid ones", "an id -1 among valid ones"),
    "tbptt_rejects_one_chunk": ("k=6", "exactly one chunk per pass"),
    "tbptt_default_batch_32": ("without batch_size", "no batch_size given"),
}


def _define(source: str, name: str):
    """``name`` defined by ``source`` among the notebook's given cells."""
    return define(A, GIVEN, source, name)


def _both(name, fn):
    getattr(visible, f"check_{name}")(fn)
    getattr(hidden, f"check_{name}")(fn)


def _reference(name):
    """The reference function with the notebook's signature (grad_check's reference returns
    the same pair; the others are used as they are)."""
    return getattr(ref, name)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_reference_passes_visible_and_hidden(name):
    _both(name, _reference(name))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_notebook_solution_passes(name):
    _both(name, _define(answer_sources(A)[name], name))


@pytest.mark.parametrize("label", sorted(fixtures_ch03.ALTERNATIVES))
def test_correct_alternatives_pass(label):
    name, source = fixtures_ch03.ALTERNATIVES[label]
    _both(name, _define(source, name))


@pytest.mark.parametrize("label", sorted(ALL_BUGS))
def test_planted_bugs_are_caught_with_a_useful_message(label):
    name, source = ALL_BUGS[label]
    fn = _define(source, name)
    with pytest.raises(CheckFailed) as e:
        _both(name, fn)
    msg = str(e.value)
    assert name in msg
    assert any(w in msg for w in ("expected", "differ", "outside tolerance", "must", "raised", "carry", "promises",
                                  "changed its argument")), msg
    if label in PROMISE_MESSAGES:
        assert PROMISE_MESSAGES[label][0] in msg, msg


def test_every_promise_bug_has_its_expected_message():
    assert set(PROMISE_MESSAGES) <= set(ALL_BUGS)


@pytest.mark.parametrize("label", sorted(ALL_BUGS))
def test_planted_bugs_are_caught_by_the_hidden_checks_alone(label):
    """What the grader runs: the hidden checks must catch every bug even if the visible
    ones were skipped."""
    name, source = ALL_BUGS[label]
    with pytest.raises(CheckFailed) as e:
        getattr(hidden, f"check_{name}")(_define(source, name))
    if label in PROMISE_MESSAGES:
        assert PROMISE_MESSAGES[label][1] in str(e.value), str(e.value)


def test_every_answer_cell_has_bugs_alternatives_and_checks():
    answers = set(answer_sources(A))
    assert answers == set(FUNCTIONS)
    assert {f for f, _ in fixtures_ch03.BUGS.values()} == answers
    assert {f for f, _ in fixtures_ch03.ALTERNATIVES.values()} == answers
    per_cell = {f: sum(1 for g, _ in fixtures_ch03.BUGS.values() if g == f) for f in answers}
    assert max(per_cell.values()) <= 2, per_cell   # the grading round trip relies on it


def test_stub_gets_not_implemented_message():
    def rnn_backward(dhs, xs, h0, hs, W_xh, W_hh):
        raise NotImplementedError()
    with pytest.raises(CheckFailed, match="not implemented yet"):
        visible.check_rnn_backward(rnn_backward)


def test_reference_backward_matches_autograd_and_finite_differences():
    rng = np.random.default_rng(0)
    B, T, D, H = 2, 7, 3, 4
    p = {"W_xh": rng.normal(0, 0.7, (D, H)), "W_hh": rng.normal(0, 0.7, (H, H)), "b_h": rng.normal(0, 0.3, H)}
    xs, h0, dhs = rng.normal(size=(B, T, D)), rng.uniform(-1, 1, (B, H)), rng.normal(size=(B, T, H))
    hs = ref.rnn_forward(xs, h0, p["W_xh"], p["W_hh"], p["b_h"])
    ours = ref.backward_dict(dhs, xs, h0, hs, p["W_xh"], p["W_hh"])
    auto = ref.autograd_gradients(p, xs, h0, dhs)
    for k in ref.AUTOGRAD_KEYS:
        np.testing.assert_allclose(ours[k], auto[k], rtol=1e-12, atol=1e-14)
    numeric, rel = ref.grad_check(p, xs, h0, dhs, ours)
    for k in ref.CHECKED:
        assert rel[k].max() < 1e-6, (k, rel[k].max())


def test_hidden_tbptt_quality_gate_rejects_an_untrained_model(monkeypatch):
    """The quality gate itself: returning the initial parameters must fail it."""
    def lazy(params, ids, vocab_size, k, steps, lr, batch_size=16, optimizer="adam"):
        return {key: np.array(v, dtype=np.float64) for key, v in params.items()}, np.zeros(steps)
    monkeypatch.setattr(hidden, "cases", lambda n: range(0))
    monkeypatch.setattr(hidden, "_check_tbptt_edges", lambda r, fn: None)
    with pytest.raises(CheckFailed, match="must beat a character unigram"):
        hidden.check_train_tbptt(lazy)


def test_rel_error_definition():
    a = np.array([2.0, -1.0, 0.0, 1.0, 3.0])
    n = np.array([1.0, 1.0, 0.0, 0.0, 3.0])
    np.testing.assert_array_equal(ref.rel_error(a, n), [0.5, 2.0, 0.0, 1.0, 0.0])
