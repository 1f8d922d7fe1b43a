"""Training a character RNN on the names corpus, shared by the chapter 2 notebook and
``scripts/bench_ch02.py`` (so that the results page measures exactly what the notebook runs).

4,145 training names (about 25,000 characters) are few for a recurrent network: trained
plainly, a model large enough to beat chapter 1's best n-gram overfits long before it gets
there.  The full-mode recipe regularises *from the training loop*, so that the model class
stays the plain ``CharRNN(vocab_size, embed_size, hidden_size)`` of the exercise:

* **input noise** (Xie et al., 2017, "Data noising as smoothing in neural network language
  models"): each input character is replaced by ``<unk>`` with probability ``input_noise``;
  the target is kept.  The model must predict the next character from a context with holes,
  the neural counterpart of backing off to a shorter context in a smoothed n-gram model;
* **dropout on the RNN's outputs** (Zaremba et al., 2014), added by a forward hook on the
  model's ``nn.RNN`` submodule and removed after training: every hidden state is dropped
  before the read-out in training mode, never in evaluation mode;
* a **cosine learning-rate schedule** with a short linear warm-up;
* **early stopping**: the validation NLL is measured every ``eval_every`` steps and the
  model ends with the weights of the best measurement (so report the *test* NLL as the
  unbiased number).

With their defaults the extras are all off and :func:`train` is the course's fixed loop
(Adam, batches of names drawn by a generator seeded with ``seed``, gradient norm clipped
at 1), step for step.
"""
from __future__ import annotations

import copy
import math

import numpy as np

PAD, UNK, EOS = 0, 1, 2

#: Settings of the names model per mode (read by the notebook and the bench script).
#: fast: the plain loop, a few seconds on a CPU.  full: hyperparameters tuned on the
#: validation names (tried: input noise 0-0.3, output dropout 0-0.4, embedding dropout 0.2,
#: weight decay 0.1, weight averaging, 4,000-10,000 steps, hidden 256 and 512; see the
#: chapter 2 section of the results page).
SETTINGS = {
    "fast": dict(hidden_size=64, embed_size=16, steps=300, batch_size=64, lr=0.01),
    "full": dict(hidden_size=256, embed_size=32, steps=10000, batch_size=64, lr=0.003,
                 input_noise=0.3, output_dropout=0.3, schedule="cosine", warmup=200, eval_every=500),
}


def masked_nll(model, x, y, mask, device=None, batch_size: int = 1024) -> float:
    """Mean NLL per predicted character (nats) of ``model`` on padded names ``x, y, mask``."""
    import torch

    from rnncourse.training import model_device

    device = model_device(model, device)
    import torch.nn.functional as F

    x, y, m = (torch.as_tensor(np.asarray(a)) for a in (x, y, mask))
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            xb, yb, mb = (t[s:s + batch_size].to(device) for t in (x, y, m))
            logits, _ = model(xb)
            total += float(F.cross_entropy(logits[mb].double(), yb[mb], reduction="sum"))
            count += int(mb.sum())
    model.train(was_training)
    return total / count


def _output_dropout_hook(model, p: float):
    """Register dropout (probability p) on the outputs of the model's first nn.RNN."""
    import torch.nn.functional as F
    from torch import nn

    rnn = next((mod for mod in model.modules() if isinstance(mod, nn.RNNBase)), None)
    if rnn is None:
        raise ValueError("output_dropout needs a model with an nn.RNN submodule")

    def hook(module, inputs, outputs):
        states, h_T = outputs
        return F.dropout(states, p, training=module.training), h_T
    return rnn.register_forward_hook(hook)


def train(model, x, y, mask, *, steps: int, batch_size: int = 64, lr: float = 0.01,
          input_noise: float = 0.0, output_dropout: float = 0.0, weight_decay: float = 0.0,
          schedule: str = "constant", warmup: int = 0, valid=None, eval_every: int = 0,
          seed: int = 0, device=None, progress: bool = False, unk_id: int = UNK, pad_id: int = PAD,
          hidden_size=None, embed_size=None) -> dict:
    """Train ``model(ids) -> (logits, h)`` on padded names and return what happened.

    Parameters
    ----------
    x, y, mask : (N, L) inputs, targets and mask of the training names (``<eos>`` c_1..c_n /
        c_1..c_n ``<eos>``, right-padded with PAD).
    steps, batch_size, lr : the loop: Adam (AdamW when ``weight_decay`` > 0), gradient norm
        clipped at 1, ``steps`` batches of names drawn with replacement.
    input_noise : probability of replacing an input character (not the leading ``<eos>``,
        not padding) by ``unk_id``.
    output_dropout : dropout probability on the RNN's hidden states (a forward hook).
    schedule : ``"constant"`` or ``"cosine"`` (to 0 at the last step), after ``warmup``
        steps of linear warm-up.
    valid : optional ``(x, y, mask)`` of validation names; with ``eval_every`` > 0 the
        validation NLL is measured every ``eval_every`` steps and at the end, and the model
        is left with the weights of the best measurement.
    hidden_size, embed_size : ignored (so that ``**SETTINGS[mode]`` can be passed whole).

    Returns
    -------
    dict with ``losses`` (np.ndarray, one training loss per step, measured with the noise
    and dropout on), ``valid_history`` (list of (step, NLL)), ``best_step`` and
    ``best_valid_nll`` (None without validation).
    """
    import torch

    from rnncourse.training import model_device

    device = model_device(model, device)
    import torch.nn.functional as F

    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
    x, y, m = (torch.as_tensor(np.asarray(a)) for a in (x, y, mask))
    g = torch.Generator().manual_seed(int(seed))              # batches: as the fixed loop
    g_noise = torch.Generator().manual_seed(int(seed) + 1)    # input noise: its own stream
    if weight_decay:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr)

    def lr_factor(step):
        if step < warmup:
            return (step + 1) / warmup
        if schedule == "constant":
            return 1.0
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor) if (warmup or schedule != "constant") else None
    hook = _output_dropout_hook(model, output_dropout) if output_dropout else None
    evaluate = valid is not None and eval_every > 0
    losses, history, best = [], [], (math.inf, None, None)
    bar = range(int(steps))
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(bar, desc="training", mininterval=1.0)
    try:
        model.train()
        for step in bar:
            idx = torch.randint(0, len(x), (int(batch_size),), generator=g)
            xb, yb, mb = x[idx], y[idx], m[idx]
            L = int(mb.sum(1).max())
            xb, yb, mb = xb[:, :L], yb[:, :L], mb[:, :L]
            if input_noise:
                hole = (torch.rand(xb.shape, generator=g_noise) < input_noise) & (xb != pad_id)
                hole[:, 0] = False
                xb = xb.masked_fill(hole, unk_id)
            xb, yb, mb = xb.to(device), yb.to(device), mb.to(device)
            logits, _ = model(xb)
            loss = F.cross_entropy(logits[mb], yb[mb])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if sched is not None:
                sched.step()
            losses.append(float(loss.detach()))
            if evaluate and ((step + 1) % eval_every == 0 or step + 1 == steps):
                nll = masked_nll(model, *valid, device=device)
                history.append((step + 1, nll))
                if nll < best[0]:
                    best = (nll, step + 1, copy.deepcopy(model.state_dict()))
                model.train()
    finally:
        if hook is not None:
            hook.remove()
    if best[2] is not None:
        model.load_state_dict(best[2])
    model.eval()
    return {"losses": np.array(losses), "valid_history": history,
            "best_step": best[1], "best_valid_nll": best[0] if best[1] is not None else None}
