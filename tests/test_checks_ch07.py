"""Chapter 7's checks, run in-process on the reference, on alternatives and on bugs.

Fast companions of test_grading.py: every planted bug (``BUGS`` and ``MORE_BUGS``) must be
caught with a message that names the function (and a bug that breaks a promise of a
docstring, with the words of ``PROMISE_MESSAGES``, by the visible checks and by the hidden
ones alone); every correct alternative and the notebook's own solution must pass.  The
reference itself is compared with its peers in tests/test_reference_ch07.py.
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from autograde.hidden import ch07 as hidden  # noqa: E402
from autograde.reference import ch07 as ref  # noqa: E402
from rnncourse.checks import ch07 as visible  # noqa: E402
from rnncourse.checks.core import CheckFailed  # noqa: E402
from tests import fixtures_ch07  # noqa: E402
from tests.submissions import ROOT, answer_sources, define  # noqa: E402

A = "ch07_captioning"
NOTEBOOK = ROOT / "solutions" / A / f"{A}.ipynb"
FUNCTIONS = ["ConvEncoder", "CaptionDecoder", "temporal_softmax_loss", "sample_captions", "caption_step_fn",
             "AttentionCaptionDecoder", "attention_maps", "attention_in_box"]
GIVEN = ("setup",)   # given cells whose code the answers may use
ALL_BUGS = {**fixtures_ch07.BUGS, **fixtures_ch07.MORE_BUGS}

# the bugs that break a promise of a docstring: the words their failure must contain, in the
# visible checks (as the student sees it) and in the hidden ones alone (as the grader does)
PROMISE_MESSAGES = {
    "enc_no_channel_check": ("1 channel", "ConvEncoder(2, (2, 2, 3), 4) on images of shape (1, 3, 8, 8)"),
    "enc_no_divisibility_check": ("not divisible by 4", "(1, 2, 12, 8)"),
    "enc_default_feature_32": ("ConvEncoder() (defaults", "ConvEncoder"),
    "enc_changes_images": ("changed its argument `images`", "changed its argument `images`"),
    "dec_default_input": ("inject left out", "CaptionDecoder"),
    "dec_no_inject_check": ("an unknown inject must raise ValueError", "an unknown inject must raise ValueError"),
    "dec_c0_zeros": ("tanh(W_c v + b_c)", "tanh(W_c v + b_c)"),
    "dec_step_restarts": ("calls of step from init_state against forward", "calls of step from init_state"),
    "dec_h0_without_tanh": ("tanh(W_h v + b_h)", "tanh(W_h v + b_h)"),
    "loss_default_token": ("with reduction left out", "temporal_softmax_loss"),
    "loss_no_reduction_check": ("reduction='mean'", "reduction='sum'"),
    "loss_no_empty_mask_check": ("a mask with no real step", "an empty mask"),
    "loss_no_shape_check": ("targets of shape (N, T + 1)", "targets (N + 1, T)"),
    "loss_returns_float": ("must return a 0-dim torch tensor", "must return a 0-dim torch tensor"),
    "loss_multiplies_by_mask": ("NaN", "NaN"),
    "loss_detached": ("differentiable", "differentiable"),
    "loss_always_float64": ("promises dtype float32, got dtype float64", "promises dtype float32, got dtype float64"),
    "sample_draws_at_zero": ("drew from rng", "drew from rng"),
    "sample_ties_to_highest_id": ("a tie to the lowest id", "ties"),
    "sample_global_generator": ("did not draw from rng", "did not draw from rng"),
    "sample_end_not_counted": ("its length is", "its length is"),
    "sample_int32_lengths": ("promises dtype int64, got dtype int32", "promises dtype int64, got dtype int32"),
    "sample_no_value_check": ("temperature must be >= 0", "temperature"),
    "sample_calls_after_the_end": ("rows not finished", "rows not finished"),
    "sample_selects_first_tensor_only": ("nested state", "reordered alike"),
    "sample_feeds_finished_rows": ("finished rows are not fed again", "finished rows are not fed again"),
    "step_fn_features_not_in_state": ("caption_step_fn", "caption_step_fn"),
    "step_fn_logits_not_normalised": ("normalised", "normalised"),
    "step_fn_changes_features": ("caption_step_fn", "caption_step_fn"),
    "step_fn_float32_state_rows_first": ("rows along dim 1", "rows along dim 1"),
    "att_U_a_with_bias": ("bias=False", "bias=False"),
    "att_softmax_over_the_batch": ("the sums of the weights", "AttentionCaptionDecoder"),
    "att_init_from_first_cell": ("the mean of the grid's cells", "the mean of the grid's cells"),
    "maps_numpy_out": ("a tensor in, a tensor out", "a tensor in, a tensor out"),
    "maps_float64": ("promises dtype float32, got dtype float64", "promises dtype float32, got dtype float64"),
    "maps_no_size_check": ("image (5, 6)", "image (3, 4)"),
    "maps_in_place": ("changed its argument `weights`", "changed its argument `weights`"),
    "box_ties_to_highest_index": ("attention_in_box", "attention_in_box"),
    "box_no_shape_check": ("L = 7", "attention_in_box"),
    "box_returns_list": ("must return a numpy bool array", "must return a numpy bool array"),
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors on a shared 2-core machine: one torch thread is much faster."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _define(source: str, name: str):
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
    _both(name, _define(answer_sources(A)[name], name))


@pytest.mark.parametrize("label", sorted(fixtures_ch07.ALTERNATIVES))
def test_correct_alternatives_pass(label):
    name, source = fixtures_ch07.ALTERNATIVES[label]
    _both(name, _define(source, name))


@pytest.mark.parametrize("label", sorted(ALL_BUGS))
def test_planted_bugs_are_caught_with_a_useful_message(label):
    name, source = ALL_BUGS[label]
    fn = _define(source, name)
    with pytest.raises(CheckFailed) as e:
        getattr(visible, f"check_{name}")(fn)
    msg = str(e.value)
    assert name in msg
    assert any(w in msg for w in ("expected", "differ", "outside tolerance", "must", "raised", "promises",
                                  "changed its argument", "did not", "off by", "do not follow")), msg
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
    cells = set(answer_sources(A))
    assert cells == set(FUNCTIONS)
    assert {f for f, _ in fixtures_ch07.BUGS.values()} == cells
    assert {f for f, _ in fixtures_ch07.ALTERNATIVES.values()} == cells
    per_cell = {f: sum(1 for g, _ in fixtures_ch07.BUGS.values() if g == f) for f in cells}
    assert max(per_cell.values()) <= 2, per_cell   # the grading round trip relies on it


def test_stub_gets_not_implemented_message():
    def attention_maps(weights, grid_size, image_size):
        raise NotImplementedError()
    with pytest.raises(CheckFailed, match="not implemented yet"):
        visible.check_attention_maps(attention_maps)


def test_toy_decoder_forward_equals_its_steps():
    """The stand-in decoder the step-function checks use: forward = init_state + steps."""
    from rnncourse.captioning_training import ToyCaptionDecoder

    for inject in ("init", "input"):
        dec = ToyCaptionDecoder(6, 3, 4, seed=1, inject=inject)
        f, tgt = torch.randn(2, 3, dtype=torch.float64), torch.tensor([[1, 3, 4], [1, 5, 2]])
        state, outs = dec.init_state(f), []
        for t in range(3):
            lg, state = dec.step(f, tgt[:, t], state)
            outs.append(lg)
        assert torch.allclose(torch.stack(outs, 1), dec.forward(f, tgt))
