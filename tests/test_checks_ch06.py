"""Chapter 6's checks, run in-process on the reference, on alternatives and on bugs.

Fast companions of test_grading.py: every planted bug (``BUGS`` and ``MORE_BUGS``) must be
caught with a message that names the function (and a bug that breaks a promise of a
docstring, with the words of ``PROMISE_MESSAGES``, by the visible checks and by the hidden
ones alone); every correct alternative and the notebook's own solution must pass.  The
reference itself is compared with its peers in tests/test_reference_ch06.py.
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from autograde.hidden import ch06 as hidden  # noqa: E402
from autograde.reference import ch06 as ref  # noqa: E402
from rnncourse.checks import ch06 as visible  # noqa: E402
from rnncourse.checks import functions  # noqa: E402
from rnncourse.checks.core import CheckFailed  # noqa: E402
from tests import fixtures_ch06  # noqa: E402
from tests.submissions import ROOT, answer_sources, define  # noqa: E402

A = "ch06_seq2seq"
NOTEBOOK = ROOT / "solutions" / A / f"{A}.ipynb"
FUNCTIONS = ["Encoder", "Decoder", "masked_loss", "greedy_decode", "beam_search", "AttentionDecoder", "corpus_bleu"]
GIVEN = ("setup",)   # given cells whose code the answers may use
ALL_BUGS = {**fixtures_ch06.BUGS, **fixtures_ch06.MORE_BUGS}

# the bugs that break a promise of a docstring: the words their failure must contain, in the
# visible checks (as the student sees it) and in the hidden ones alone (as the grader does)
PROMISE_MESSAGES = {
    "enc_no_length_check": ("lengths outside 1..S", "a length 0"),
    "enc_no_shape_check": ("Encoder.forward with", "Encoder.forward with"),
    "enc_state_swapped": ("the state must be (h, c) in this order", "the state must be (h, c) in this order"),
    "enc_returns_h_only": ("with the state a tuple (h, c)", "with the state a tuple (h, c)"),
    "enc_default_two_layers": ("num_layers left out", "num_layers left out"),
    "dec_state_swapped": ("the state must be (h, c) in this order", "the state must be (h, c) in this order"),
    "loss_no_empty_mask_check": ("a mask with no True", "a mask with no True"),
    "loss_no_shape_check": ("targets of shape (B, U + 1)", "targets of shape (B + 1, U)"),
    "loss_returns_float": ("must return a scalar torch tensor", "must return a scalar torch tensor"),
    "loss_always_float64": ("promises dtype float32, got dtype float64", "promises dtype float32, got dtype float64"),
    "loss_detached": ("differentiable", "differentiable"),
    "loss_clears_logits_in_place": ("changed its argument `logits`", "changed its argument `logits`"),
    "loss_multiplies_by_mask": ("NaN", "NaN"),
    "greedy_runs_to_max_len": ("expected shape", "expected shape"),
    "greedy_ties_to_highest_id": ("a tie to the lowest id", "table with exact ties"),
    "greedy_float_lengths": ("expected an integer dtype", "expected an integer dtype"),
    "greedy_int32_tokens": ("promises dtype int64, got dtype int32", "promises dtype int64, got dtype int32"),
    "greedy_no_value_check": ("batch_size must be >= 1", "batch_size=0"),
    "greedy_eos_hard_coded": ("eos = 3", "'eos'"),
    "beam_finished_kept_growing": ("goes on after <eos>", "same tokens twice"),
    "beam_pool_by_log_prob": ("not sorted by score", "not sorted by score"),
    "beam_pool_unsorted_ties": ("ties by tokens", "ties by tokens"),
    "beam_float32": ("the log_prob of", "the log_prob of"),
    "beam_item_by_item": ("at most one call per step", "at most one call per step"),
    "beam_no_early_stop": ("the stopping rule (5)", "the stopping rule (5)"),
    "beam_no_size_check": ("beam_size=0", "beam_size=0"),
    "beam_default_alpha_one": ("alpha=0.0", "left out"),
    "beam_pool_keeps_all": ("1..beam_size", "1..beam_size"),
    "beam_eos_counted_twice": ("the length counts <eos>", "the length counts <eos>"),
    "att_no_score_check": ("an unknown score must raise ValueError", "an unknown score must raise ValueError"),
    "att_default_dot": ("score left out", "score left out"),
    "att_over_padding": ("weights at padded source positions", "padded"),
    "att_mask_after_softmax": ("the sums of the weights", "padded"),
    "att_context_ignored": ("did not change the logits", "did not change the logits"),
    "bleu_no_length_check": ("the lists differ in length", "see the docstring's Raises"),
    "bleu_max_order_ignored": ("corpus_bleu", "max_order"),
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors on a shared 2-core machine: one torch thread is much faster."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _define(source: str, name: str):
    """``name`` defined by ``source`` (among the notebook's given cells once the notebook exists;
    every fixture imports what it uses)."""
    if NOTEBOOK.exists():
        return define(A, GIVEN, source, name)
    ns: dict = {}
    exec(source, ns)
    return ns[name]


def _both(name, fn):
    getattr(visible, f"check_{name}")(fn)
    getattr(hidden, f"check_{name}")(fn)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_reference_passes_visible_and_hidden(name):
    _both(name, getattr(ref, name))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_notebook_solution_passes(name):
    if not NOTEBOOK.exists():
        pytest.skip(f"{NOTEBOOK.relative_to(ROOT)} does not exist yet (written in parallel); its answers are "
                    "checked once it does")
    _both(name, _define(answer_sources(A)[name], name))


@pytest.mark.parametrize("label", sorted(fixtures_ch06.ALTERNATIVES))
def test_correct_alternatives_pass(label):
    name, source = fixtures_ch06.ALTERNATIVES[label]
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
                                  "changed its argument", "gave the same", "did not change", "off by")), msg
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
    cells = set(answer_sources(A)) if NOTEBOOK.exists() else set(FUNCTIONS)
    assert cells == set(FUNCTIONS)
    assert {f for f, _ in fixtures_ch06.BUGS.values()} == cells
    assert {f for f, _ in fixtures_ch06.ALTERNATIVES.values()} == cells
    per_cell = {f: sum(1 for g, _ in fixtures_ch06.BUGS.values() if g == f) for f in cells}
    assert max(per_cell.values()) <= 2, per_cell   # the grading round trip relies on it


def test_stub_gets_not_implemented_message():
    def greedy_decode(step_fn, init_state, batch_size, max_len, sos=1, eos=2):
        raise NotImplementedError()
    with pytest.raises(CheckFailed, match="not implemented yet"):
        visible.check_greedy_decode(greedy_decode)


def test_portable_step_functions_rebuild_from_their_state():
    """What the sandbox does with them: cls(**state()) after the state went through the wire
    as plain values (arrays inline as lists)."""
    from autograde.remote import _inline
    from rnncourse import search as S
    from rnncourse import wire

    for fn in (functions.TableStep(S.TableModel.random(4, 3, 1).table), functions.HashStep(5, 3, 0.7, 0.2)):
        head, arrays = wire.encode(_inline(fn.state()))
        assert not arrays
        again = type(fn)(**dict(wire.decode(head, {}, None)))
        state = fn.init_state(3)
        tokens = torch.tensor([1, 3, 2])
        for _ in range(3):
            (a, sa), (b, sb) = fn(tokens, state), again(tokens, state)
            assert torch.equal(a, b) and torch.equal(sa, sb)
            state = sa


def test_calls_are_recorded_where_the_function_runs():
    from rnncourse import search as S

    step = functions.TableStep(S.example_tables()["greedy_trap"].table)
    (tokens, lengths), rows = functions.calls_recorded(ref.greedy_decode, step, step.init_state(3), 3, 5)
    assert rows == [3, 3] and tokens.tolist() == [[3, 2]] * 3 and lengths.tolist() == [2] * 3
