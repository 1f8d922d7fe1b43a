"""Chapter 5's checks, run in-process on the reference, on alternatives and on bugs.

Fast companions of test_grading.py: every planted bug (``BUGS`` and ``MORE_BUGS``) must be
caught with a message that names the function (and a bug that breaks a promise of a
docstring, with the words of ``PROMISE_MESSAGES``, by the visible checks and by the hidden
ones alone); every correct alternative and the notebook's own solution must pass.  The
reference itself is compared with PyTorch's modules here.
"""
from __future__ import annotations


import numpy as np
import pytest

from autograde.hidden import ch05 as hidden
from autograde.reference import ch05 as ref
from rnncourse.checks import ch05 as visible
from rnncourse.checks.core import CheckFailed
from tests import fixtures_ch05
from tests.submissions import answer_sources, define

A = "ch05_lstm"
FUNCTIONS = ["lstm_cell", "gru_cell", "lstm_sequence", "gru_sequence", "init_forget_bias", "parameter_count",
             "CharLSTM", "text_features", "SpaceRestorer", "tune_and_score", "longest_solved_lag"]
GIVEN = ("setup",)   # given cells whose code the answers may use
ALL_BUGS = {**fixtures_ch05.BUGS, **fixtures_ch05.MORE_BUGS}

# the bugs that break a promise of a docstring: the words their failure must contain, in the
# visible checks (as the student sees it) and in the hidden ones alone (as the grader does)
PROMISE_MESSAGES = {
    "lstm_in_place_c": ("changed its argument `c`", "changed its argument `c`"),
    "lstm_in_place_h": ("changed its argument `h`", "changed its argument `h`"),
    "lstm_float32_output": ("promises dtype float64, got dtype float32", "promises dtype float64, got dtype float32"),
    "lstm_no_shape_checks": ("lstm_cell with", "lstm_cell with"),
    "lstm_numpy_output": ("must return torch tensors", "must return torch tensors"),
    "gru_in_place_h": ("changed its argument `h`", "changed its argument `h`"),
    "gru_float32_output": ("promises dtype float64, got dtype float32", "promises dtype float64, got dtype float32"),
    "gru_no_shape_checks": ("gru_cell with", "gru_cell with"),
    "lstm_seq_in_place_h0": ("changed its argument `h0`", "changed its argument `h0`"),
    "lstm_seq_float32": ("promises dtype float64, got dtype float32", "promises dtype float64, got dtype float32"),
    "lstm_seq_accepts_T0": ("T = 0", "T = 0"),
    "lstm_seq_no_state_check": ("h0 of shape", "h0 of shape"),
    "gru_seq_in_place_xs": ("changed its argument `xs`", "changed its argument `xs`"),
    "gru_seq_none_breaks": ("h0 = None", "no initial states"),
    "gru_seq_no_state_check": ("h0 of shape", "h0 of shape"),
    "forget_bias_keeps_hh": ("forget bias", "forget bias"),
    "forget_bias_whole_bias": ("changed the input gate i rows of bias_ih_l0",
                               "changed the input gate i rows of bias_ih_l0"),
    "forget_bias_default_0": ("value left out", "value left out"),
    "forget_bias_returns_model": ("got a LSTM", "got a LSTM"),
    "forget_bias_returns_none": ("got None", "got None"),
    "forget_bias_touches_gru": ("changed gru.bias_hh_l0", "changed gru.bias_hh_l0"),
    "forget_bias_no_bias_check": ("must raise ValueError", "must raise ValueError"),
    "forget_bias_skips_cells": ("must return the number of", "must return the number of"),
    "count_bidirectional_ignored": ("bidirectional=True", "bidirectional=True"),
    "char_lstm_dropout_only_in_lstm": ("two runs in training mode gave the same", "two runs in training mode gave the same"),
    "char_lstm_dropout_always_on": ("two runs in eval mode", "two runs in eval mode"),
    "char_lstm_no_lstm_dropout": ("between layers", "between layers"),
    "char_lstm_default_one_layer": ("num_layers 1, expected 2", "num_layers 1, expected 2"),
    "char_lstm_ignores_state": ("continue from state", "continue from state"),
    "char_lstm_no_forget_bias": ("forget bias", "forget bias"),
    "features_int_dtype": ("promises dtype float64", "promises dtype float64"),
    "features_keys_extra": ("exactly the keys", "exactly the keys"),
    "spaces_no_packing": ("must not change its outputs", "must not change its outputs"),
    "spaces_ignores_bidirectional": ("bidirectional=False", "bidirectional=False"),
    "count_float": ("must return an int", "must return an int"),
    "count_case_insensitive": ("parameter_count('LSTM', 3, 2)", "parameter_count('Gru', 2, 2)"),
    "count_no_size_check": ("parameter_count('gru', 3, 0)", "parameter_count('lstm', 0, 2)"),
    "tune_mean": ("the median of 'test_mses'", "the median of 'test_mses'"),
    "tune_nan_wins_when_first": ("kept the rate inf", "kept the rate inf"),
    "tune_last_on_tie": ("a tie goes to the rate first in lrs", "a tie goes to the rate first in lrs"),
    "tune_valid_of_kept_only": ("from every rate of lrs", "from every rate of lrs"),
    "tune_no_kind_check": ("tune_and_score('LSTM'", "tune_and_score('Gru'"),
    "longest_zero_for_none": ("expected None, got 0", "you returned 0"),
    "longest_float_lag": ("must return an int", "must return an int"),
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


@pytest.mark.parametrize("label", sorted(fixtures_ch05.ALTERNATIVES))
def test_correct_alternatives_pass(label):
    name, source = fixtures_ch05.ALTERNATIVES[label]
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
    assert {f for f, _ in fixtures_ch05.BUGS.values()} == answers
    assert {f for f, _ in fixtures_ch05.ALTERNATIVES.values()} == answers
    per_cell = {f: sum(1 for g, _ in fixtures_ch05.BUGS.values() if g == f) for f in answers}
    assert max(per_cell.values()) <= 2, per_cell   # the grading round trip relies on it


def test_stub_gets_not_implemented_message():
    def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
        raise NotImplementedError()
    with pytest.raises(CheckFailed, match="not implemented yet"):
        visible.check_lstm_cell(lstm_cell)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_reference_cells_match_torch(dtype):
    rng = np.random.default_rng(0)
    B, D, H = 4, 3, 5
    x, h, c = rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    for kind in ("lstm", "gru"):
        W = visible.weights(rng, kind, D, H, 1.0)
        t = visible._tensors
        if kind == "lstm":
            got = ref.lstm_cell(*t((x, h, c, *W), dtype))
            exp = visible.torch_cell("lstm", x, h, c, *W, dtype=dtype)
            for g, e in zip(got, exp):
                np.testing.assert_allclose(g.numpy(), e, **tol)
        else:
            np.testing.assert_allclose(ref.gru_cell(*t((x, h, *W), dtype)).numpy(),
                                       visible.torch_cell("gru", x, h, None, *W, dtype=dtype), **tol)


def test_reference_sequences_match_torch():
    rng = np.random.default_rng(1)
    B, T, D, H, L = 3, 6, 2, 4, 3
    xs, h0, c0 = rng.normal(size=(B, T, D)), rng.normal(size=(L, B, H)), rng.normal(size=(L, B, H))
    t = lambda a: visible._tensors((a,), "float64")[0]
    for kind in ("lstm", "gru"):
        layers = visible.random_layers(rng, kind, D, H, L, 1.0)
        lt = [tuple(visible._tensors(layer, "float64")) for layer in layers]
        for given in (True, False):
            if kind == "lstm":
                out, (h, c) = ref.lstm_sequence(t(xs), t(h0) if given else None, t(c0) if given else None, lt)
                e_out, (e_h, e_c) = visible.torch_sequence("lstm", xs, h0 if given else None, c0 if given else None, layers)
                np.testing.assert_allclose(c.numpy(), e_c, rtol=1e-12, atol=1e-13)
            else:
                out, h = ref.gru_sequence(t(xs), t(h0) if given else None, lt)
                e_out, e_h = visible.torch_sequence("gru", xs, h0 if given else None, None, layers)
            np.testing.assert_allclose(out.numpy(), e_out, rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(h.numpy(), e_h, rtol=1e-12, atol=1e-13)


def test_reference_parameter_count_matches_torch():
    for kind in ("rnn", "gru", "lstm"):
        for D, H, L in ((1, 1, 1), (7, 3, 2), (3, 16, 4)):
            assert ref.parameter_count(kind, D, H, L) == visible.torch_count(kind, D, H, L)


def test_hidden_signal_gate_rejects_pytorchs_default_initialisation(monkeypatch):
    """The gradient-signal gate itself: an init_forget_bias that leaves PyTorch's default
    biases (and returns None) must fail it."""
    def lazy(lstm, value=1.0):
        return None
    monkeypatch.setattr(hidden, "_structure", lambda r, fn, name: None)
    with pytest.raises(CheckFailed, match="PyTorch's default initialisation keeps about 1e-10"):
        hidden.check_init_forget_bias(lazy)


def test_hidden_disagreement_case_still_disagrees():
    """The hidden case that tells tuning on the test set from tuning on validation: the two
    sets must prefer different rates there, by more than float noise."""
    kw = dict(hidden.DISAGREE)
    kind, T, lrs = kw.pop("kind"), kw.pop("T"), kw.pop("lrs")
    on_valid = ref.tune_and_score(kind, T, lrs, **kw)
    on_test = hidden._expected_scores(kind, T, lrs, **kw)   # the same protocol, through the hidden helper
    assert on_valid["lr"] == on_test["lr"] and not on_test["close"]
    from rnncourse import longrange
    x, y = longrange.held_out_set(T)
    test = {lr: longrange.held_out_mse(visible.protocol_model(kind, T, kw["hidden_size"], kw["steps"], lr, 0), x, y)
            for lr in lrs}
    best_on_test = min(lrs, key=test.get)
    assert best_on_test != on_valid["lr"]
    ordered = sorted(test.values())
    assert ordered[1] - ordered[0] > 1e-4 * ordered[0]
