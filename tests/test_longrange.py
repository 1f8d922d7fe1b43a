"""rnncourse.longrange: the adding problem, the recipes and the benchmark's pieces."""
from __future__ import annotations

import numpy as np
import pytest

from rnncourse import longrange as L

torch = pytest.importorskip("torch")


def test_adding_problem_layout_and_target():
    rng = np.random.default_rng(0)
    x, y = L.adding_problem(500, 9, rng)
    assert x.shape == (500, 9, 2) and y.shape == (500,)
    assert x.dtype == np.float32 and y.dtype == np.float32
    markers = x[..., 1]
    assert np.all(markers.sum(1) == 2) and set(np.unique(markers)) == {0.0, 1.0}
    first, second = markers[:, :4].argmax(1), 4 + markers[:, 4:].argmax(1)   # T // 2 = 4
    assert np.all(markers[:, :4].sum(1) == 1) and np.all(markers[:, 4:].sum(1) == 1)
    rows = np.arange(500)
    np.testing.assert_allclose(y, x[rows, first, 0] + x[rows, second, 0], rtol=1e-6)
    assert 0 <= x[..., 0].min() and x[..., 0].max() <= 1
    with pytest.raises(ValueError):
        L.adding_problem(3, 1, rng)


def test_baseline_is_the_mse_of_answering_one():
    _, y = L.adding_problem(200_000, 6, np.random.default_rng(1))
    assert float(np.mean((y - 1.0) ** 2)) == pytest.approx(L.BASELINE_MSE, rel=0.02)


def test_held_out_sets_are_fixed_and_differ_by_lag_and_seed():
    a, b = L.held_out_set(12, 50), L.held_out_set(12, 50)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(L.held_out_set(12, 50, seed=1)[1], a[1])
    assert L.held_out_set(14, 50)[0].shape == (50, 14, 2)


def test_recipes_build_models_and_the_initialised_ones_need_an_init():
    x = torch.from_numpy(L.adding_problem(4, 7, np.random.default_rng(2))[0])
    seen = []
    for name, spec in L.RECIPES.items():
        if spec.init is None:
            model = L.make_model(name, 8)
        else:
            with pytest.raises(ValueError, match="needs init"):
                L.make_model(name, 8)
            model = L.make_model(name, 8, init=lambda rnn, scheme: seen.append(scheme))
        assert model(x).shape == (4,)
    assert sorted(seen) == ["identity", "orthogonal"]
    # the same seed gives the same weights
    a, b = L.make_model("tanh", 8, seed=3), L.make_model("tanh", 8, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_training_lowers_the_loss_and_run_scores_held_out_data():
    torch.set_num_threads(1)
    run = L.run("gru", 6, hidden_size=16, steps=150, n_test=300)
    assert len(run.losses) == 150 and np.all(np.isfinite(run.losses))
    assert np.mean(run.losses[-20:]) < np.mean(run.losses[:20])
    assert run.solved == (run.mse < L.SOLVED_FRACTION * L.BASELINE_MSE)
    model = L.make_model("gru", 16)
    x, y = L.held_out_set(6, 300)
    assert L.held_out_mse(model, x, y) > 0


def test_longest_solved_takes_the_longest_solved_lag_per_recipe():
    runs = [L.Run("a", 10, 0.0, True, 0, 0), L.Run("a", 40, 0.0, True, 0, 0), L.Run("a", 20, 0.1, False, 0, 0),
            L.Run("b", 10, 0.2, False, 0, 0)]
    assert L.longest_solved(runs) == {"a": 40, "b": None}


def test_unrolled_states_are_nn_rnn_states_and_carry_the_total_gradient():
    torch.manual_seed(0)
    for nl in ("tanh", "relu"):
        rnn = torch.nn.RNN(2, 5, batch_first=True, nonlinearity=nl).double()
        x = torch.randn(3, 8, 2, dtype=torch.float64)
        states = L.unrolled_states(rnn, x)
        out, _ = rnn(x)
        torch.testing.assert_close(torch.stack(states, 1), out)
    readout = torch.nn.Linear(5, 1).double()
    norms = L.gradient_norm_by_lag(rnn, readout, x)
    assert norms.shape == (8,) and np.all(norms >= 0)
    # the last state's gradient is the read-out's weight for every sequence
    assert norms[-1] == pytest.approx(float(readout.weight.detach().norm()))
