"""Long-range memory tasks and the shared lag benchmark (chapters 4 and 5).

The *adding problem* (Hochreiter and Schmidhuber 1997; the form used by Le, Jaitly and
Hinton 2015): a sequence of T steps has two input channels, a value drawn uniformly from
[0, 1] and a marker that is 1 at exactly two steps and 0 elsewhere.  The target is the sum
of the two marked values.  The first marker lies in the first half of the sequence, the
second in the second half, so the model must keep a number for about T/2 steps or more.

Always answering 1 (the mean of the target) has mean squared error Var(U1 + U2) = 1/6;
a model *solves* a lag when its held-out MSE is below ``SOLVED_FRACTION`` of that.

The benchmark trains one model per (recipe, lag) with the same loop and reports the
held-out MSE; a recipe is a model family plus its remedies:

===================  ==========================================================
``tanh``             nn.RNN(tanh), PyTorch's default initialisation, no clipping
``tanh+clip``        the same, gradient norm clipped to 1 (Pascanu et al. 2013)
``tanh+orthogonal``  W_hh orthogonal (all singular values 1), clipped
``irnn``             nn.RNN(relu), W_hh = I, b = 0, small W_ih (Le et al. 2015), clipped
``lstm``             nn.LSTM, default initialisation, clipped (chapter 5)
``gru``              nn.GRU, default initialisation, clipped (chapter 5)
===================  ==========================================================

Chapter 5's rows use the same loop, data and held-out sets.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

BASELINE_MSE = 1.0 / 6.0       # always predicting 1, the mean of U1 + U2
SOLVED_FRACTION = 0.1          # "solved": held-out MSE below 10% of the baseline
VALID_SEED = 777               # the validation sequences of a lag (choosing a learning rate)
TEST_SEED = 12345              # the test sequences of a lag (the reported MSE)


def adding_problem(n: int, T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences of the adding problem of length ``T`` (T >= 2).

    Returns ``x`` float32 (n, T, 2) (channel 0 the values, channel 1 the markers) and
    ``y`` float32 (n,) the sum of the two marked values.
    """
    if T < 2:
        raise ValueError(f"the adding problem needs T >= 2, got {T}")
    values = rng.uniform(0.0, 1.0, (n, T))
    half = T // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, T, n)
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values[rows, first] + values[rows, second]).astype(np.float32)
    return x, y


def _torch():
    import torch
    return torch


def make_model(recipe: str, hidden_size: int, *, seed: int = 0, init: Callable[[Any, str], None] | None = None):
    """The model of a recipe: an RNN over the 2 input channels, a linear read-out of the
    last state (an ``nn.Module`` mapping (B, T, 2) to (B,)).

    A recipe with an initialisation scheme (``"orthogonal"``, ``"identity"``) needs
    ``init(rnn, scheme)``, which sets the ``nn.RNN``'s weights in place: chapter 4's
    exercise ``init_for_memory`` (the course package does not ship one).
    """
    torch = _torch()
    from torch import nn

    spec = RECIPES[recipe]
    torch.manual_seed(seed)

    class Regressor(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = spec.build(hidden_size)
            self.out = nn.Linear(hidden_size, 1)

        def forward(self, x):
            states, _ = self.rnn(x)
            return self.out(states[:, -1]).squeeze(-1)

    model = Regressor()
    if spec.init is not None:
        if init is None:
            raise ValueError(f"recipe {recipe!r} needs init(rnn, {spec.init!r}), e.g. your init_for_memory")
        init(model.rnn, spec.init)
    return model


def _tanh(H):
    from torch import nn
    return nn.RNN(2, H, batch_first=True, nonlinearity="tanh")


def _relu(H):
    from torch import nn
    return nn.RNN(2, H, batch_first=True, nonlinearity="relu")


def _lstm(H):
    from torch import nn
    return nn.LSTM(2, H, batch_first=True)


def _gru(H):
    from torch import nn
    return nn.GRU(2, H, batch_first=True)


@dataclass(frozen=True)
class Recipe:
    build: Callable[[int], Any]
    init: str | None = None
    clip: float | None = None
    lr: float = 1e-3
    label: str = ""


RECIPES: dict[str, Recipe] = {
    "tanh": Recipe(_tanh, None, None, 1e-3, "tanh RNN, default init"),
    "tanh+clip": Recipe(_tanh, None, 1.0, 1e-3, "tanh RNN, norm clipping"),
    "tanh+orthogonal": Recipe(_tanh, "orthogonal", 1.0, 1e-3, "tanh RNN, orthogonal W_hh, clipping"),
    "irnn": Recipe(_relu, "identity", 1.0, 1e-4, "ReLU RNN, identity W_hh (IRNN), clipping"),
    # chapter 5: gated cells, PyTorch's default initialisation, the same clipping
    "lstm": Recipe(_lstm, None, 1.0, 1e-3, "LSTM, default init, clipping"),
    "gru": Recipe(_gru, None, 1.0, 1e-3, "GRU, default init, clipping"),
}


def train(model, T: int, *, steps: int, batch_size: int = 64, lr: float = 1e-3, clip: float | None = None,
          seed: int = 0, device: str = "cpu") -> np.ndarray:
    """Adam on fresh adding-problem batches of length ``T``; returns the batch losses (MSE).

    Batches come from ``np.random.default_rng(seed)``, so two calls with one seed see the
    same data.  ``clip`` is the max gradient norm (``torch.nn.utils.clip_grad_norm_``) or None.
    """
    torch = _torch()
    model.to(device).train()
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = np.empty(steps)
    for step in range(steps):
        x, y = adding_problem(batch_size, T, rng)
        x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses[step] = float(loss.detach())
    return losses


def held_out_mse(model, x: np.ndarray, y: np.ndarray, device: str = "cpu", batch_size: int = 512) -> float:
    """Mean squared error of ``model`` on held-out sequences ``x`` (n, T, 2) with targets ``y``."""
    torch = _torch()
    model.eval()
    errs = []
    with torch.no_grad():
        for s in range(0, len(y), batch_size):
            pred = model(torch.from_numpy(x[s:s + batch_size]).to(device)).float().cpu().numpy()
            with np.errstate(over="ignore", invalid="ignore"):       # a diverged model: inf or NaN, said as such
                errs.append((pred - y[s:s + batch_size]) ** 2)
    return float(np.concatenate(errs).mean())


def held_out_set(T: int, n: int = 1000, seed: int = TEST_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The fixed held-out sequences of a lag: ``seed`` TEST_SEED (the default) gives the test
    set, VALID_SEED the validation set; training batches draw from ``default_rng(seed)`` with
    small seeds, never from these ``default_rng([seed, T])`` streams."""
    return adding_problem(n, T, np.random.default_rng([seed, T]))


@dataclass
class Run:
    recipe: str
    T: int
    mse: float
    solved: bool
    seconds: float
    final_train_loss: float
    losses: list[float] = field(repr=False, default_factory=list)


def run(recipe: str, T: int, *, hidden_size: int, steps: int, batch_size: int = 64, seed: int = 0,
        device: str = "cpu", n_test: int = 1000, init: Callable[[Any, str], None] | None = None) -> Run:
    """Train the recipe's model at lag ``T`` and score it on :func:`held_out_set`."""
    spec = RECIPES[recipe]
    t0 = time.perf_counter()
    model = make_model(recipe, hidden_size, seed=seed, init=init)
    losses = train(model, T, steps=steps, batch_size=batch_size, lr=spec.lr, clip=spec.clip, seed=seed,
                   device=device)
    x, y = held_out_set(T, n_test)
    mse = held_out_mse(model, x, y, device=device)
    tail = float(np.mean(losses[-max(1, steps // 20):]))
    return Run(recipe, T, mse, bool(mse < SOLVED_FRACTION * BASELINE_MSE), time.perf_counter() - t0, tail,
               [float(v) for v in losses])


def longest_solved(runs: list[Run]) -> dict[str, int | None]:
    """Per recipe, the longest lag solved (None when no lag was)."""
    out: dict[str, int | None] = {}
    for r in runs:
        best = out.get(r.recipe)
        out.setdefault(r.recipe, None)
        if r.solved and (best is None or r.T > best):
            out[r.recipe] = r.T
    return out


# --------------------------------------------------------------------------- gradient norms
def unrolled_states(rnn, x):
    """Run a one-layer ``nn.RNN`` step by step on ``x`` (B, T, D) with the same weights, and
    return the list of states h_1..h_T as tensors that keep their gradients
    (``retain_grad``): after ``loss.backward()``, ``states[k].grad`` is dL/dh_k, the
    gradient that reaches step k through every later step."""
    torch = _torch()
    act = torch.tanh if rnn.nonlinearity == "tanh" else torch.relu
    B = x.shape[0]
    h = torch.zeros(B, rnn.hidden_size, dtype=x.dtype, device=x.device)
    states = []
    for t in range(x.shape[1]):
        h = act(x[:, t] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
        h.retain_grad()
        states.append(h)
    return states


def gradient_norm_by_lag(rnn, readout, x) -> np.ndarray:
    """||dL/dh_k|| for k = 1..T (mean over the batch) with L = sum of the read-out of h_T:
    entry T - k is the gradient norm at lag T - k from the loss."""
    states = unrolled_states(rnn, x)
    readout(states[-1]).sum().backward()
    return np.array([float(s.grad.norm(dim=-1).mean()) for s in states])
