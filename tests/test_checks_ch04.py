"""Chapter 4's checks, run in-process on the reference, on alternatives and on bugs.

Fast companions of test_grading.py: every planted bug (``BUGS`` and ``MORE_BUGS``) must be
caught with a message that names the function (and a bug that breaks a promise of a
docstring, with the words of ``PROMISE_MESSAGES``, by the visible checks and by the hidden
ones alone); every correct alternative and the notebook's own solution must pass.  The
init_for_memory checks train a small model on the adding problem (about 2 s on one thread).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from autograde.hidden import ch04 as hidden
from autograde.reference import ch04 as ref
from rnncourse.checks import ch04 as visible
from rnncourse.checks.core import CheckFailed
from tests import fixtures_ch04
from tests.submissions import answer_sources, define

A = "ch04_gradients"
FUNCTIONS = ["jacobian_norms", "with_spectral_radius", "linear_gradient_decay", "clip_grad_norm", "clip_grad_value",
             "init_for_memory"]
GIVEN = ("setup",)   # given cells whose code the answers may use
ALL_BUGS = {**fixtures_ch04.BUGS, **fixtures_ch04.MORE_BUGS}

# the bugs that break a promise of a docstring: the words their failure must contain, in the
# visible checks (as the student sees it) and in the hidden ones alone (as the grader does)
PROMISE_MESSAGES = {
    "jacobian_float32": ("promises dtype float64, got dtype float32", "promises dtype float64, got dtype float32"),
    "jacobian_mutates_hs": ("changed its argument `hs`", "changed its argument `hs`"),
    "jacobian_no_shape_checks": ("a 1-D hs", "expected ValueError to be raised, but nothing was raised"),
    "radius_mutates_W": ("changed its argument `W`", "changed its argument `W`"),
    "radius_rejects_zero_rho": ("rho = 0", "rho=0.000"),
    "radius_no_zero_check": ("W = zeros (2, 2)", "W = zeros (4, 4)"),
    "radius_float32": ("promises dtype float64, got dtype float32", "promises dtype float64, got dtype float32"),
    "decay_accepts_T0": ("linear_gradient_decay(Ws, 0)", "T = 0"),
    "decay_mutates_Ws": ("changed its argument `Ws`", "changed its argument `Ws`"),
    "norm_iterates_twice": ("as a generator", "given as a generator"),
    "norm_grad_none_crash": ("raised", "raised"),
    "norm_returns_float": ("must return the total norm as a 0-d torch tensor", "must return the total norm as a 0-d"),
    "norm_new_tensors": ("is a new tensor", "is a new tensor"),
    "norm_single_tensor_iterated": ("a single tensor", "given as a tensor"),
    "norm_float64_total": ("promises dtype float32, got dtype float64", "promises dtype float32, got dtype float64"),
    "value_not_in_place": ("is a new tensor", "is a new tensor"),
    "value_no_error": ("clip_grad_value(parameters, -1.0)", "clip_grad_value(parameters, -0.5)"),
    "value_iterates_twice": ("as a generator", "given as a generator"),
    "init_ignores_generator": ("generator seed 7", "one generator seed"),
    "init_unknown_scheme_silent": ("init_for_memory(rnn, 'xavier')", "init_for_memory(rnn, 'Orthogonal')"),
    "init_replaces_with_float64": ("promises dtype float32, got dtype float64", "promises dtype float32, got dtype float64"),
    "init_orthogonal_zeroes_biases": ("changed its argument `rnn.bias_ih_l0`", "changed its argument `rnn.bias_ih_l0`"),
}


def _define(source: str, name: str):
    """``name`` defined by ``source`` among the notebook's given cells."""
    return define(A, GIVEN, source, name)


def _both(name, fn):
    getattr(visible, f"check_{name}")(fn)
    getattr(hidden, f"check_{name}")(fn)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_reference_passes_visible_and_hidden(name):
    _both(name, getattr(ref, name))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_notebook_solution_passes(name):
    _both(name, _define(answer_sources(A)[name], name))


@pytest.mark.parametrize("label", sorted(fixtures_ch04.ALTERNATIVES))
def test_correct_alternatives_pass(label):
    name, source = fixtures_ch04.ALTERNATIVES[label]
    _both(name, _define(source, name))


@pytest.mark.parametrize("label", sorted(ALL_BUGS))
def test_planted_bugs_are_caught_with_a_useful_message(label):
    name, source = ALL_BUGS[label]
    fn = _define(source, name)
    with pytest.raises(CheckFailed) as e:
        _both(name, fn)
    msg = str(e.value)
    assert name in msg
    assert any(w in msg for w in ("expected", "differ", "outside tolerance", "must", "raised", "promises",
                                  "changed its argument", "gave the same")), msg
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
    assert {f for f, _ in fixtures_ch04.BUGS.values()} == answers
    assert {f for f, _ in fixtures_ch04.ALTERNATIVES.values()} == answers
    per_cell = {f: sum(1 for g, _ in fixtures_ch04.BUGS.values() if g == f) for f in answers}
    assert max(per_cell.values()) <= 2, per_cell   # the grading round trip relies on it


def test_stub_gets_not_implemented_message():
    def clip_grad_norm(parameters, max_norm, norm_type=2.0):
        raise NotImplementedError()
    with pytest.raises(CheckFailed, match="not implemented yet"):
        visible.check_clip_grad_norm(clip_grad_norm)


def test_reference_jacobians_match_autograd():
    rng = np.random.default_rng(0)
    T, D, H = 9, 3, 5
    W_xh, W_hh, b = rng.normal(size=(D, H)), rng.normal(0, 1.5 / np.sqrt(H), (H, H)), rng.normal(0, 0.2, H)
    xs, h0 = rng.normal(size=(T, D)), rng.uniform(-1, 1, H)
    np.testing.assert_allclose(ref.jacobian_norms(visible.tanh_run(xs, h0, W_xh, W_hh, b), W_hh),
                               visible.autograd_jacobian_norms(xs, h0, W_xh, W_hh, b), rtol=1e-12)


def test_reference_clipping_matches_torch():
    """The reference is torch's clip_grad_norm_ / clip_grad_value_ on the check harness."""
    rng = np.random.default_rng(1)
    values = [rng.normal(size=s).astype(np.float32) for s in ((3,), (2, 4), (1,))]
    grads = [rng.normal(size=v.shape).astype(np.float32) for v in values]
    grads[2] = None
    for p in (1.0, 2.0, 3.0, math.inf):
        for max_norm in (0.1, 100.0):
            got = visible.clipped("clip_grad_norm", ref.clip_grad_norm, values, grads, max_norm, p)
            exp = visible.torch_clip("norm", values, grads, max_norm, p)
            visible.check_total("clip_grad_norm", got[0], exp[0])
            visible.compare_clipping("clip_grad_norm", got, exp, values)
    got = visible.clipped("clip_grad_value", ref.clip_grad_value, values, grads, 0.3)
    visible.compare_clipping("clip_grad_value", got, visible.torch_clip("value", values, grads, 0.3), values, exact=True)


def test_hidden_memory_gates_reject_pytorchs_default_initialisation(monkeypatch):
    """The gradient-signal gate itself: an init_for_memory that leaves PyTorch's default
    weights (and never raises) must fail it."""
    def lazy(rnn, scheme, generator=None):
        return None
    monkeypatch.setattr(hidden, "_structure", lambda r, fn, name: None)
    with pytest.raises(CheckFailed, match="PyTorch's default initialisation keeps about 1e-10"):
        hidden.check_init_for_memory(lazy)


def test_hidden_training_gate_rejects_an_untrainable_model(monkeypatch):
    """The held-out MSE gate itself: weights that saturate every unit fail it."""
    import torch

    def saturating(rnn, scheme, generator=None):
        with torch.no_grad():
            rnn.weight_hh_l0.fill_(0.0)
            rnn.weight_ih_l0.fill_(0.0)
            rnn.bias_ih_l0.fill_(0.0)
            rnn.bias_hh_l0.fill_(0.0)
    monkeypatch.setattr(hidden, "_structure", lambda r, fn, name: None)
    monkeypatch.setattr(hidden, "_signal", lambda r, fn, name: None)
    with pytest.raises(CheckFailed, match="held-out MSE"):
        hidden.check_init_for_memory(saturating)
