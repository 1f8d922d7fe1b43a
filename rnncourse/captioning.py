"""Tools for chapter 7 (image captioning) shared by the book pages and the measurements.

Nothing here is an exercise's answer: the encoder, the decoders, the masked loss, the
sampler, the step functions, the attention maps and the box test are the exercises of the
chapter 7 notebook.  What is here:

* :func:`train_captioner`: the chapter's training loop (Adam, seeded batches of
  ``(image, caption)`` pairs, gradient norm clipped at 1, teacher forcing), for any model
  ``model(images, tgt_in) -> logits`` or ``-> (logits, weights)``;
* :func:`caption_bleu` (corpus BLEU-4 with several references per image, word tokens,
  sacrebleu) and :func:`exact_match` (a caption equal to one of the references);
* :func:`true_rate` (a caption that is a true description of its scene, one of
  :func:`rnncourse.captions.true_captions`, whether or not it is one of the image's 3-5
  references) and :func:`named_share` (the share of chosen objects that the captions name by
  colour and shape: on the compositional split, the held-out pairs);
* :func:`hit_rate`: collects the (shape word, object) pairs of generated captions
  (:func:`rnncourse.captions.object_of_word`) and applies a box test to them;
* :func:`show_images` and :func:`draw_attention`: matplotlib figures (at most 10 in wide,
  text of 10 pt or more, as the course's figure rules ask).

Token ids follow :mod:`rnncourse.captions`: ``0 <pad>``, ``1 <start>``, ``2 <end>``,
``3 <unk>``, the convention of chapter 6's step functions (:mod:`rnncourse.search`).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from rnncourse import captions as cap

__all__ = ["train_captioner", "masked_token_loss", "caption_bleu", "exact_match", "true_rate", "names_object",
           "named_share", "hit_pairs", "hit_rate",
           "show_images", "draw_attention", "FIG_WIDTH"]

FIG_WIDTH = 10.0
"""The widest figure (inches at 100 dpi) the book's pages show without shrinking text."""


# --------------------------------------------------------------------------- training
def masked_token_loss(logits, targets, mask):
    """Mean cross-entropy over the real steps (``mask`` True) of a padded batch.

    Written with ``ignore_index`` on the flattened steps that ``mask`` leaves out: the
    simplest correct form, for the pages' training.  (The graded ``temporal_softmax_loss``
    also takes junk at masked steps and a per-caption reduction.)
    """
    import torch.nn.functional as F

    targets = targets.masked_fill(~mask, -100)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


def train_captioner(model, images, image_index, captions, vocab, *, steps: int, batch_size: int = 64,
                    lr: float = 3e-3, seed: int = 0, device: str = "cpu", loss_fn: Callable | None = None,
                    doubly_stochastic: float = 0.0, clip: float = 1.0, log_every: int = 0) -> np.ndarray:
    """Train a captioning model with teacher forcing; returns the training losses, one per step.

    Args:
        model: an ``nn.Module``; ``model(images (B, 3, H, W) float32 in [0, 1], tgt_in (B, T)
            int64) -> logits (B, T, V)``, or ``-> (logits, weights (B, T, L))`` for a model
            with attention (then ``doubly_stochastic`` applies).
        images: (N, H, W, 3) uint8, the images of a split (``captions.load(split).images``).
        image_index: (M,) int, the image of each training caption
            (``captions.training_pairs``).
        captions: the M captions (strings).
        vocab: a :class:`rnncourse.captions.WordVocab`.
        steps, batch_size, lr, seed: Adam for ``steps`` steps on batches of ``batch_size``
            pairs drawn with replacement by a ``torch.Generator`` seeded with ``seed``.
        loss_fn: ``loss_fn(logits, tgt_out, mask) -> scalar``; default
            :func:`masked_token_loss` (the mean over real steps).
        doubly_stochastic: lambda of Xu et al.'s penalty
            ``lambda * sum_i (1 - sum_t p_ti)^2`` (averaged over the batch; the sum over t
            runs over the real steps), for models that return weights.
        clip: the gradient norm is clipped at ``clip``.
        log_every: print the mean loss every so many steps (0: never).

    The captions are padded once (``captions.batch``); each batch is cut to its longest
    caption, and its images are converted to float on the fly.
    """
    import torch

    if len(image_index) != len(captions):
        raise ValueError(f"{len(image_index)} image indices for {len(captions)} captions")
    loss_fn = loss_fn or masked_token_loss
    tgt_in, tgt_out, mask = (torch.from_numpy(a) for a in cap.batch(list(captions), vocab))
    index = torch.as_tensor(np.asarray(image_index), dtype=torch.int64)
    pixels = torch.from_numpy(np.array(images, dtype=np.uint8))             # (N, H, W, 3) uint8, a copy
    g = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for step in range(int(steps)):
        rows = torch.randint(0, len(captions), (int(batch_size),), generator=g)
        T = int(mask[rows].sum(1).max())
        x = (pixels[index[rows]].permute(0, 3, 1, 2).float() / 255.0).to(device)
        ti, to, m = tgt_in[rows, :T].to(device), tgt_out[rows, :T].to(device), mask[rows, :T].to(device)
        out = model(x, ti)
        logits, weights = out if isinstance(out, tuple) else (out, None)
        loss = loss_fn(logits, to, m)
        if doubly_stochastic and weights is not None:
            attended = (weights * m[..., None].to(weights.dtype)).sum(1)          # (B, L): sum over real steps
            loss = loss + doubly_stochastic * ((1.0 - attended) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(float(loss.detach()))
        if log_every and (step + 1) % log_every == 0:
            print(f"step {step + 1}: loss {np.mean(losses[-log_every:]):.3f}", flush=True)
    model.eval()
    return np.array(losses)


# --------------------------------------------------------------------------- scores
def _check_pairs(hyps, refs_lists):
    if isinstance(hyps, str):
        raise TypeError("hyps is a list of captions, not one string")
    if len(hyps) != len(refs_lists):
        raise ValueError(f"{len(hyps)} hypotheses for {len(refs_lists)} lists of references")
    for refs in refs_lists:
        if isinstance(refs, str) or len(refs) == 0:
            raise ValueError("each hypothesis needs a non-empty list of reference captions")


def caption_bleu(hyps: Sequence[str], refs_lists: Sequence[Sequence[str]], max_order: int = 4) -> float:
    """Corpus BLEU (0-100) of captions against several references each (sacrebleu).

    ``hyps[i]`` is scored against all of ``refs_lists[i]`` (any number >= 1 of references;
    n-gram counts are clipped by the largest count in any one reference, the brevity
    penalty uses the reference length closest to the hypothesis).  Word tokens (the
    captions are lowercase words separated by spaces: ``tokenize="none"``), n-grams up to
    ``max_order`` (BLEU-4 by default), sacrebleu's default ``exp`` smoothing.
    """
    import sacrebleu

    _check_pairs(hyps, refs_lists)
    if not hyps:
        return 0.0
    k = max(len(r) for r in refs_lists)
    streams = [[refs[j] if j < len(refs) else None for refs in refs_lists] for j in range(k)]
    bleu = sacrebleu.metrics.BLEU(tokenize="none", max_ngram_order=int(max_order))
    return float(bleu.corpus_score(list(hyps), streams).score)


def exact_match(hyps: Sequence[str], refs_lists: Sequence[Sequence[str]]) -> float:
    """The fraction of hypotheses equal (after whitespace normalisation) to one of their references."""
    _check_pairs(hyps, refs_lists)
    if not hyps:
        return 0.0
    norm = lambda s: " ".join(s.split())   # noqa: E731
    return float(np.mean([norm(h) in {norm(r) for r in refs} for h, refs in zip(hyps, refs_lists)]))


def true_rate(hyps: Sequence[str], objects: Sequence[Sequence]) -> float:
    """The fraction of captions that are true descriptions of their scene
    (:func:`rnncourse.captions.is_true`: one of every caption the grammar writes of the scene,
    not only of the image's 3-5 references); ``objects`` as ``captions.load(split).objects``."""
    if isinstance(hyps, str):
        raise TypeError("hyps is a list of captions, not one string")
    if len(hyps) != len(objects):
        raise ValueError(f"{len(hyps)} hypotheses for {len(objects)} scenes")
    if not hyps:
        return 0.0
    return float(np.mean([cap.is_true(h, objs) for h, objs in zip(hyps, objects)]))


def names_object(text: str, colour: str, shape: str) -> bool:
    """Does the caption name an object of this colour and shape (the colour one or two words
    before the shape word: "a red triangle", "a small red triangle")?"""
    words = text.split()
    return any(w == shape and colour in words[max(0, i - 2):i] for i, w in enumerate(words))


def named_share(hyps: Sequence[str], objects: Sequence[Sequence], pick: Callable | None = None) -> dict:
    """Of the objects for which ``pick(obj)`` is true (default: every object), the share that
    their image's caption names by colour and shape (:func:`names_object`).  Returns
    ``{"objects": n, "named": k, "rate": k / n (None when n = 0)}``."""
    if len(hyps) != len(objects):
        raise ValueError(f"{len(hyps)} hypotheses for {len(objects)} scenes")
    n = k = 0
    for text, objs in zip(hyps, objects):
        for o in objs:
            if pick is None or pick(o):
                n += 1
                k += names_object(text, o.colour, o.shape)
    return {"objects": n, "named": k, "rate": k / n if n else None}


# --------------------------------------------------------------------------- attention
def hit_pairs(captions: Sequence[str], weights: Sequence, objects: Sequence[Sequence]) -> tuple:
    """The (shape word, object) pairs of generated captions, ready for a box test.

    Args:
        captions: N generated captions (strings of words).
        weights: N arrays ``(T_i, L)``: the attention weights of each generated word (row t
            is the word ``captions[i].split()[t]``; rows beyond the words, e.g. ``<end>``,
            are ignored).
        objects: the N images' objects (``captions.load(split).objects``).

    Returns ``(W (K, L) float, boxes (K, 4) int64, where)``: one row per shape word that
    names exactly one object of its image (:func:`rnncourse.captions.object_of_word`), and
    ``where`` the K ``(caption index, word index, word)`` of the rows.
    """
    rows, boxes, where = [], [], []
    for i, (text, w, objs) in enumerate(zip(captions, weights, objects)):
        w = np.asarray(w, dtype=np.float64)
        words = text.split()
        for t, k in enumerate(cap.object_of_word(text, objs)):
            if k is not None and t < len(w):
                rows.append(w[t])
                boxes.append(objs[k].box)
                where.append((i, t, words[t]))
    L = np.asarray(weights[0]).shape[-1] if len(weights) else 0
    return (np.array(rows, dtype=np.float64).reshape(-1, L), np.array(boxes, dtype=np.int64).reshape(-1, 4), where)


def hit_rate(captions, weights, objects, in_box: Callable, grid_size=(8, 8),
             image_size=(cap.IMAGE_SIZE, cap.IMAGE_SIZE), margin: int = 0) -> dict:
    """The chapter's measure that attention looks at the right place.

    For every shape word of the generated ``captions`` that names one object of its image
    (:func:`hit_pairs`), ``in_box(W, grid_size, image_size, boxes) -> bool (K,)`` says whether
    the most-attended cell lies inside that object's box (the graded
    ``attention_in_box`` has this signature).  Returns ``{"pairs": K, "hits": ...,
    "rate": hits / K (None when K = 0), "chance": the mean share of the image the boxes
    cover}``: about the rate of a model that attends to a random place.

    ``margin=m`` first grows every box by ``m`` cells on each side (cut at the image's
    edges), for the weaker question "is the most-attended cell within ``m`` cells of the
    object?"; ``chance`` is then the share the grown boxes cover.
    """
    W, boxes, _ = hit_pairs(captions, weights, objects)
    if len(W) == 0:
        return {"pairs": 0, "hits": 0, "rate": None, "chance": None}
    if margin:
        gh, gw = (int(g) for g in grid_size)
        H, Wd = (int(x) for x in image_size)
        dy, dx = margin * H / gh, margin * Wd / gw
        grown = boxes.astype(np.float64) + np.array([-dx, -dy, dx, dy])
        boxes = np.clip(grown, 0, [Wd, H, Wd, H])
    hits = np.asarray(in_box(W, tuple(grid_size), tuple(image_size), boxes), dtype=bool)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / float(image_size[0] * image_size[1])
    return {"pairs": int(len(hits)), "hits": int(hits.sum()), "rate": float(hits.mean()),
            "chance": float(area.mean())}


# --------------------------------------------------------------------------- figures
def show_images(images, titles: Sequence[str] | None = None, ncols: int = 4, width: float = FIG_WIDTH,
                fontsize: float = 10, wrap: int = 28):
    """A grid of images, each with a title wrapped at ``wrap`` characters; returns the figure.

    ``images`` (N, H, W, 3) uint8.  The figure is ``width`` inches wide (at most 10, the
    course's limit); titles are ``fontsize`` points (at least 10).
    """
    import textwrap

    import matplotlib.pyplot as plt

    images = np.asarray(images)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    titles = list(titles) if titles is not None else [""] * n
    lines = max((len(textwrap.wrap(t, wrap)) for t in titles), default=0)
    cell = min(width, FIG_WIDTH) / ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(min(width, FIG_WIDTH), nrows * (cell + 0.2 * lines)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, title in zip(axes.flat, images, titles):
        ax.imshow(img, interpolation="nearest")
        ax.set_title("\n".join(textwrap.wrap(title, wrap)), fontsize=max(fontsize, 10))
    fig.tight_layout()
    return fig


def draw_attention(image, weights, words: Sequence[str], grid_size=(8, 8), ncols: int = 5,
                   width: float = FIG_WIDTH, fontsize: float = 10, darken: float = 0.85):
    """The attention of each generated word over the image; returns the figure.

    ``image`` (H, W, 3) uint8; ``weights`` (T, gh * gw) the attention weights of the T
    words (row-major cells); ``words`` the T words (``<end>`` included if wanted).  The
    first panel shows the image, then one panel per word: the image under a black veil over
    the grid's cells (drawn by ``imshow`` with the image's extent, one block per cell), fully
    open at the most-attended cell and ``darken`` opaque where the weight is 0, each panel
    scaled to its own largest weight, titled with the word and that largest weight.
    """
    import matplotlib.pyplot as plt

    image = np.asarray(image)
    w = np.asarray(weights, dtype=np.float64)
    gh, gw = grid_size
    if w.ndim != 2 or w.shape[1] != gh * gw:
        raise ValueError(f"weights must be (T, {gh * gw}) for a {gh} x {gw} grid, got {w.shape}")
    if len(words) != len(w):
        raise ValueError(f"{len(words)} words for {len(w)} rows of weights")
    H, W = image.shape[:2]
    n = len(words) + 1
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    cell = min(width, FIG_WIDTH) / ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(min(width, FIG_WIDTH), nrows * (cell + 0.35)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    axes.flat[0].imshow(image, interpolation="nearest")
    axes.flat[0].set_title("image", fontsize=max(fontsize, 10))
    for ax, word, row in zip(list(axes.flat)[1:], words, w):
        ax.imshow(image, interpolation="nearest", extent=(0, W, H, 0))
        shade = np.zeros((gh, gw, 4))                 # black, transparent where the weight is largest
        shade[..., 3] = darken * (1.0 - row.reshape(gh, gw) / max(row.max(), 1e-12))
        ax.imshow(shade, interpolation="nearest", extent=(0, W, H, 0))
        ax.set_xlim(0, W), ax.set_ylim(H, 0)
        ax.set_title(f"{word} ({row.max():.2f})", fontsize=max(fontsize, 10))
    fig.tight_layout()
    return fig
