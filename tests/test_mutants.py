"""The fast subset of the mutation analysis (autograde/mutants.py; the whole set: `make mutants`).

* the mutator produces mutants that compile and differ from the reference;
* the harness grades the unmutated reference of every exercise as "survived" (so a kill
  is the mutation's doing, not the harness's; the correct alternatives of
  tests/fixtures_chNN.py are graded by the same checks in tests/test_checks_chNN.py);
* a fixed sample of mutants per exercise (chosen by a hash of the mutant's key) is killed,
  or is registered in tests/mutants_equivalent.py: EQUIVALENT entries must survive (a check
  that kills one rejects a correct answer), PENDING entries (survivors awaiting a check)
  are xfail.  When a new check kills a PENDING mutant, delete its entry.

Everything is graded in one batch of forked processes, two at a time.
"""
from __future__ import annotations

import ast

import pytest

from autograde import mutants as M
from tests.mutants_equivalent import EQUIVALENT, PENDING

EXERCISES = M.all_exercises()
_MUTANTS = {ex: M.mutants(ex) for ex in EXERCISES}
SAMPLE = [m for ex in EXERCISES for m in M.sample(ex, _MUTANTS[ex])]


@pytest.fixture(scope="module")
def verdicts() -> dict:
    jobs, labels = [], []
    for ex in EXERCISES:
        jobs.append((ex, lambda ex=ex: M.build(ex), 300.0))
        labels.append(("reference", ex))
    for m in SAMPLE:
        jobs.append((m.exercise, lambda m=m: M.build(m.exercise, m.code), 120.0))
        labels.append(("mutant", m.key))
    # the slow ones first, so that the two workers finish together
    order = sorted(range(len(jobs)), key=lambda i: jobs[i][0] not in M.SLOW)
    got = M.grade_many([jobs[i] for i in order], workers=2)
    return {labels[i]: v for i, v in zip(order, got)}


def test_mutator_produces_distinct_compiling_mutants():
    for ex in EXERCISES:
        ms = _MUTANTS[ex]
        assert len(ms) >= 5, (ex, len(ms))
        original = M.unparse_module(ast.parse(M._module_source(ex.split(".")[0])))
        codes = {m.code for m in ms}
        assert len(codes) == len(ms) and original not in codes, ex
        assert len({m.id for m in ms}) == len({m.key for m in ms}) == len(ms), ex
        for m in ms[:3]:
            compile(m.code, m.id, "exec")
    assert M.mutants(EXERCISES[0])[0].code == _MUTANTS[EXERCISES[0]][0].code   # deterministic


def test_registry_keys_name_existing_mutants():
    keys = {m.key for ms in _MUTANTS.values() for m in ms}
    stale = sorted(set(EQUIVALENT) - keys) + sorted(set(PENDING) - keys)
    assert not stale, f"entries of tests/mutants_equivalent.py that no mutant has (reference edited?): {stale}"
    assert not set(EQUIVALENT) & set(PENDING)


@pytest.mark.parametrize("ex", EXERCISES)
def test_harness_passes_the_unmutated_reference(verdicts, ex):
    v = verdicts[("reference", ex)]
    assert v.status == "survived", f"{ex}: {v.by}: {v.message}"


@pytest.mark.parametrize("key", [m.key for m in SAMPLE], ids=[m.id for m in SAMPLE])
def test_sampled_mutant_is_killed_or_registered(verdicts, key):
    v = verdicts[("mutant", key)]
    m = next(m for m in SAMPLE if m.key == key)
    if key in EQUIVALENT:
        assert v.status == "survived", (f"{m.id} is registered equivalent ({EQUIVALENT[key]}) but the checks "
                                        f"reject it: {v.by}: {v.message}")
    elif key in PENDING:
        if v.status == "survived":
            pytest.xfail(f"survivor awaiting a check: {PENDING[key]}")
    else:
        assert v.status == "killed", (f"{m.id} (line {m.line}: {m.change}) survives the checks; add a check that "
                                      f"kills it, or register its key in tests/mutants_equivalent.py: {key!r}")
