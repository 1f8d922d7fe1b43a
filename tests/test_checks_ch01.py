"""Chapter 1's checks, run in-process on the reference, on alternatives and on bugs.

Fast companions of test_grading.py: every planted bug must be caught (by the visible
check where a small case shows it, by the hidden check otherwise) with a message that
names the function; every correct alternative and the notebook's own solution must pass.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from autograde.hidden import ch01 as hidden
from autograde.reference import ch01 as ref
from rnncourse.checks import ch01 as visible
from rnncourse.checks.core import CheckFailed
from tests import fixtures_ch01
from tests.submissions import ROOT, answer_sources

FUNCTIONS = ["ngram_counts", "mle_prob", "add_k_prob", "kneser_ney_prob", "perplexity", "sample"]


def _namespace() -> dict:
    """Globals of the notebook's given code (numpy, find_rows)."""
    nb = json.loads((ROOT / "solutions" / "ch01_ngrams" / "ch01_ngrams.ipynb").read_text())
    ns: dict = {"np": np}
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "lookup":
            exec("".join(cell["source"]), ns)
    return ns


def _define(source: str, name: str):
    ns = _namespace()
    exec(source, ns)
    return ns[name]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_reference_passes_visible_and_hidden(name):
    fn = getattr(ref, name)
    if name == "kneser_ney_prob":
        fn = lambda tables, V, q, D=0.75: ref.kneser_ney_prob(tables, V, q, D)  # noqa: E731
    getattr(visible, f"check_{name}")(fn)
    getattr(hidden, f"check_{name}")(fn)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_notebook_solution_passes(name):
    fn = _define(answer_sources("ch01_ngrams")[name], name)
    getattr(visible, f"check_{name}")(fn)
    getattr(hidden, f"check_{name}")(fn)


@pytest.mark.parametrize("name", sorted(fixtures_ch01.ALTERNATIVES))
def test_correct_alternatives_pass(name):
    fn = _define(fixtures_ch01.ALTERNATIVES[name], name)
    getattr(visible, f"check_{name}")(fn)
    getattr(hidden, f"check_{name}")(fn)


@pytest.mark.parametrize("name", sorted(fixtures_ch01.BUGS))
def test_planted_bugs_are_caught_with_a_useful_message(name):
    fn = _define(fixtures_ch01.BUGS[name], name)
    with pytest.raises(CheckFailed) as e:
        getattr(visible, f"check_{name}")(fn)
        getattr(hidden, f"check_{name}")(fn)
    msg = str(e.value)
    assert name in msg
    assert any(w in msg for w in ("expected", "differ", "outside tolerance", "distribution")), msg


def test_stub_gets_not_implemented_message():
    def ngram_counts(ids, n):
        raise NotImplementedError()
    with pytest.raises(CheckFailed, match="not implemented yet"):
        visible.check_ngram_counts(ngram_counts)


def test_hidden_checks_do_not_depend_on_global_random_state():
    """A sampler that also consumes the global numpy RNG passes regardless of its state."""
    base = _define(fixtures_ch01.ALTERNATIVES["sample"], "sample")

    def noisy(next_probs, prefix, length, temperature, rng):
        np.random.random(17)
        return base(next_probs, prefix, length, temperature, rng)
    for s in (0, 1):
        np.random.seed(s)
        hidden.check_sample(noisy)


@pytest.mark.parametrize("label", sorted(fixtures_ch01.MORE_BUGS))
def test_more_bugs_are_caught_where_the_docstring_promises(label):
    """Each MORE_BUGS entry breaks one settled promise (dtype, default, valid edge,
    NaN handling, exact zero-probability, T = 0 without drawing, tiny T, validation)."""
    name, source = fixtures_ch01.MORE_BUGS[label]
    fn = _define(source, name)
    with pytest.raises(CheckFailed) as e:
        getattr(visible, f"check_{name}")(fn)
    assert name in str(e.value)
    if label in VISIBLE_ONLY:
        return
    with pytest.raises(CheckFailed):
        getattr(hidden, f"check_{name}")(fn)


# bugs only the visible check can see (it asserts how the check's own callback is called)
VISIBLE_ONLY = {"perplexity_per_window", "sample_float_context"}


def test_the_more_bugs_sampler_base_is_correct():
    """The sampler MORE_BUGS perturb is itself correct, so each bug is the only change."""
    fn = _define(fixtures_ch01._SAMPLER, "sample")
    visible.check_sample(fn)
    hidden.check_sample(fn)


def test_feedback_names_the_zero_probability_token_and_its_count():
    name, source = fixtures_ch01.MORE_BUGS["sample_zero_leak"]
    with pytest.raises(CheckFailed, match=r"token \d has probability 0 but was drawn \d+ times? in 2000 draws"):
        visible.check_sample(_define(source, name))
