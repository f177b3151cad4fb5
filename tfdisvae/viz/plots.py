"""The pictures of a trained model: reconstructions, prior samples, traversals (poster Fig. 2 and 4),
factor heat maps (Fig. 2 right), dimension-wise KL curves (Fig. 3) and animated traversals (the five
kinds of disentanglement_lib).

Every function takes the model surface of docs/ARCHITECTURE.md (`encode_params`, `decode_mean`,
`latent_dim`, `image_shape`; `method` and `optimizer.iterations` label the title when present) and
numpy images [n, H, W, C] (uint8 0/1 or 0..255, or float in [0, 1]; 1 or 3 channels, any size the model
takes), and returns a `Picture` (or `Animation`) holding the pixels and the numbers it shows:

    from tfdisvae import viz
    viz.traversals(model, images, mode="prior", top_k=5).save("prior_traversals.png")
    viz.reconstruct_traverse(model, images, data=dsprites).save("fig2.png")
    viz.kl_curves("runs/beta_vae_h-dsprites-seed0").save("kl.png")
    viz.metric_curves({"VAE": "runs/vae-dsprites-seed0", "FactorVAE": ...}, "aam").save("aam.png")

KL per latent (for ordering and labels) is the mean over the given images of the analytic
KL(q(z_j|x) || N(0, 1)), in nats.
"""

from __future__ import annotations

import os

import numpy as np

from tfdisvae.callbacks import global_step
from tfdisvae.data.ground_truth import float_images, to_float_images
from tfdisvae.viz import grids
from tfdisvae.viz.layout import Animation, Picture, figure_to_pixels

BATCH = 256


# ---------------------------------------------------------------------- model access
def _as_images(images, max_value=None, model=None):
    images = to_float_images(images, max_value)
    if model is not None:
        expected = tuple(int(s) for s in getattr(model, "image_shape", images.shape[1:]))
        if tuple(images.shape[1:]) != expected:
            raise ValueError(f"images of shape {images.shape[1:]} do not fit the model, which takes "
                             f"{expected}; give images of the model's data set")
    return images


def encode(model, images, batch_size=BATCH):
    """Posterior (mean, log_var) of images, numpy float32 [n, latent_dim] each."""
    images = _as_images(images, model=model)
    means, log_vars = [], []
    for start in range(0, len(images), batch_size):
        mean, log_var = model.encode_params(images[start:start + batch_size])
        means.append(np.asarray(mean, np.float32))
        log_vars.append(np.asarray(log_var, np.float32))
    return np.concatenate(means), np.concatenate(log_vars)


def decode(model, codes, batch_size=BATCH):
    """Mean images of codes [..., latent_dim]: float32 [..., H, W, C] in [0, 1]."""
    codes = np.asarray(codes, np.float32)
    flat = codes.reshape(-1, codes.shape[-1])
    out = [np.asarray(model.decode_mean(flat[s:s + batch_size]), np.float32)
           for s in range(0, len(flat), batch_size)]
    out = np.clip(np.concatenate(out), 0.0, 1.0)
    return out.reshape(*codes.shape[:-1], *out.shape[1:])


def latent_kl(model, images):
    """Mean KL(q(z_j|x) || N(0, 1)) over images, [latent_dim], nats."""
    mean, log_var = encode(model, images)
    return grids.mean_kl_per_latent(mean, log_var)


def title_of(model, what, step=None):
    """'<method> · <what> · step <step>' (the step part only when known)."""
    method = getattr(model, "method", None) or type(model).__name__
    step = global_step(model, default=None) if step is None else step
    return f"{method} · {what}" + ("" if step is None else f" · step {step}")


def _kl_label(j, kl):
    return f"z{j}  KL {kl:.2f}"


def _check_images_given(images, what):
    if images is None or len(images) == 0:
        raise ValueError(f"{what} needs images (a batch of the model's data set, [n, H, W, C])")


def _latent_order(model, kl, sort_by_kl, top_k):
    if sort_by_kl:
        return grids.kl_order(kl, top_k)
    order = np.arange(model.latent_dim)
    return order if top_k is None else order[:int(top_k)]


# ---------------------------------------------------------------------- grids of images
def reconstructions(model, images, *, step=None, title=None, scale=None) -> Picture:
    """Originals (top row) and their reconstructions decode_mean(posterior mean) (bottom row).

    images: [n, H, W, C]; the picture is a 2 x n grid. data: "originals", "reconstructions".
    """
    _check_images_given(images, "reconstructions")
    x = _as_images(images, model=model)
    mean, _ = encode(model, x)
    rec = decode(model, mean)
    return Picture.from_grid(
        np.stack([x, rec]), name="reconstructions", scale=scale,
        data={"originals": x, "reconstructions": rec},
        row_labels=["data", "reconstruction"],
        title=title or title_of(model, "reconstructions", step))


def prior_samples(model, n=64, *, seed=0, cols=None, step=None, title=None, scale=None) -> Picture:
    """Decoded means of n codes z ~ N(0, I) (drawn with numpy, `seed`), in rows of `cols` images.

    data: "codes" [n, latent_dim], "samples" [n, H, W, C].
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"prior_samples needs n >= 1, got {n}")
    rows, default_cols = grids.square_layout(n)
    cols = int(cols or default_cols)
    rows = int(np.ceil(n / cols))
    z = np.random.default_rng(seed).standard_normal((n, model.latent_dim)).astype(np.float32)
    samples = decode(model, z)
    cells = np.full((rows * cols, *samples.shape[1:]), grids.PAD_VALUE, np.float32)
    cells[:n] = samples
    return Picture.from_grid(
        cells.reshape(rows, cols, *samples.shape[1:]), name="prior_samples", scale=scale,
        data={"codes": z, "samples": samples},
        title=title or title_of(model, "samples from the prior N(0, I)", step))


def traversals(model, images=None, *, mode="posterior", sort_by_kl=True, top_k=None, span=2.0,
               num_values=10, index=0, kl=None, seed=0, step=None, title=None,
               scale=None) -> Picture:
    """Latent traversals: one row per latent, z_j swept over `span` with the other latents fixed.

    Args:
      model: the model.
      images: [n, H, W, C]; posterior mode: images[index] gives the base code (its posterior mean).
        The KL of each latent (order and labels) is the mean over all of them.
      mode: "posterior" (base = posterior mean of images[index], poster Fig. 2) or "prior" (base = one
        code z ~ N(0, I) drawn with `seed`, poster Fig. 4).
      sort_by_kl: rows in decreasing KL (else latent index order).
      top_k: keep the first top_k rows (poster Fig. 4 shows 5).
      span: half-width of the sweep in prior standard deviations, or a (low, high) pair.
      num_values: images per row.
      kl: precomputed KL per latent [latent_dim] (then `images` are needed only in posterior mode).
    Returns:
      Picture; data: "latents" (row order), "kl" [latent_dim], "values" [num_values], "base"
      [latent_dim], "codes" [rows, num_values, latent_dim], "cells" [rows, num_values, H, W, C].
    """
    if mode not in ("posterior", "prior"):
        raise ValueError(f"traversal mode must be 'posterior' or 'prior', got {mode!r}")
    x = None if images is None else _as_images(images, model=model)
    if kl is None:
        if x is None or len(x) == 0:
            raise ValueError("traversals needs images to measure each latent's KL (or pass kl=, or "
                             "sort_by_kl=False with mode='prior')" if sort_by_kl or mode == "posterior"
                             else "traversals needs images")
        kl = latent_kl(model, x)
    kl = np.asarray(kl, np.float64)
    if kl.shape != (model.latent_dim,):
        raise ValueError(f"kl must have one value per latent ({model.latent_dim}), got {kl.shape}")
    if mode == "posterior":
        _check_images_given(x, "posterior traversals")
        if not 0 <= index < len(x):
            raise ValueError(f"index {index} is outside the {len(x)} images given")
        base, _ = encode(model, x[index:index + 1])
        base = base[0]
    else:
        base = np.random.default_rng(seed).standard_normal(model.latent_dim).astype(np.float32)
    order = _latent_order(model, kl, sort_by_kl, top_k)
    values = grids.traversal_values(span, num_values)
    codes = grids.traversal_codes(base, order, values)
    cells = decode(model, codes)
    what = f"{mode} traversals" + (" sorted by KL" if sort_by_kl else "")
    if top_k is not None:
        what += f", top {len(order)}"
    return Picture.from_grid(
        cells, name=f"{mode}_traversals", scale=scale,
        data={"latents": order, "kl": kl, "values": values, "base": base, "codes": codes},
        row_labels=[_kl_label(j, kl[j]) for j in order],
        col_labels=[f"{v:+.1f}" for v in values],
        title=title or title_of(model, what, step))


def reconstruct_traverse(model, images, *, data=None, heatmap_factors=("posX", "posY"),
                         top_k=None, span=2.0, kl=None, samples_per_cell=8, seed=0, step=None,
                         title=None, scale=None) -> Picture:
    """Poster Fig. 2: originals, reconstructions, then posterior traversals of images[0] sorted by KL;
    with `data` (a GroundTruthData) a right column shows each latent's heat map over two factors.

    Args:
      images: [n, H, W, C]; the first row shows them, so every row has n cells (the traversals take n
        values over `span`); n >= 2.
      data: ground-truth data for the heat maps (see factor_heatmaps); None: no heat-map column.
      heatmap_factors: the two factors (x axis, y axis of the heat map).
      kl: KL per latent [latent_dim] measured on more images (default: over `images`).
    Returns:
      Picture; data: "latents", "kl", "values", "originals", "reconstructions", and with `data`
      "heatmaps" [latent_dim, n_a, n_b] and "heatmap_range" (vmin, vmax).
    """
    _check_images_given(images, "reconstruct_traverse")
    x = _as_images(images, model=model)
    if len(x) < 2:
        raise ValueError("reconstruct_traverse needs at least 2 images (one per column)")
    n = len(x)
    trav = traversals(model, x, mode="posterior", top_k=top_k, span=span, num_values=n, kl=kl)
    mean, _ = encode(model, x)
    rec = decode(model, mean)
    rows = [x, rec] + list(trav.data["cells"])
    order = trav.data["latents"]
    kl = trav.data["kl"]
    labels = ["data", "reconstruction"] + [_kl_label(j, kl[j]) for j in order]
    col_labels = [""] * n
    out = {"latents": order, "kl": kl, "values": trav.data["values"], "originals": x,
           "reconstructions": rec}
    cells = np.stack(rows)
    if data is not None:
        maps = latent_factor_means(model, data, heatmap_factors, samples_per_cell=samples_per_cell,
                                   seed=seed)
        vmin, vmax = _heatmap_range(maps["means"][order])
        column = np.full((len(rows), *x.shape[1:3], 3), 1.0, np.float32)
        for r, j in enumerate(order):
            column[2 + r] = _heatmap_cell(maps["means"][j], x.shape[1:3], vmin, vmax)
        cells = np.concatenate([grids.to_rgb(cells), column[:, None]], axis=1)
        a_name, b_name = maps["factor_names"]
        col_labels.append(f"{a_name}→ {b_name}↓")
        out.update(heatmaps=maps["means"], heatmap_range=(vmin, vmax))
    subtitle = f"traversals of image 1 over z in [{trav.data['values'][0]:.1f}, " \
               f"{trav.data['values'][-1]:.1f}]"
    if data is not None:
        subtitle += f"; right: mean of z over {maps['factor_names'][0]} × {maps['factor_names'][1]}"
    return Picture.from_grid(cells, name="reconstruct_traverse", scale=scale, data=out,
                             row_labels=labels, col_labels=col_labels,
                             title=title or title_of(model, "reconstructions and posterior "
                                                     "traversals", step), subtitle=subtitle)


# ---------------------------------------------------------------------- factor heat maps
def _factor_position(data, factor):
    names = list(getattr(data, "factor_names", ()))
    if not names:
        raise ValueError("heat maps need ground-truth data with factor_names and factor_sizes "
                         "(tfdisvae.data.load_ground_truth(...)); this data set has no factors")
    if isinstance(factor, (int, np.integer)):
        if not 0 <= factor < len(names):
            raise ValueError(f"factor {factor} is outside 0..{len(names) - 1} ({', '.join(names)})")
        return int(factor)
    if factor not in names:
        raise ValueError(f"unknown factor {factor!r}; this data set has {', '.join(names)}")
    return names.index(factor)


def latent_factor_means(model, data, factors=("posX", "posY"), *, samples_per_cell=8, seed=0):
    """Posterior mean of every latent over the grid of two factors, averaged over the others.

    For each cell (class a of the first factor, class b of the second) the model encodes
    `samples_per_cell` images whose other factors are drawn uniformly (one draw set, shared by every
    cell); the heat map is the mean of the posterior means over them.

    Returns dict: "means" [latent_dim, n_a, n_b], "factors" (a, b) positions, "factor_names",
    "classes" the factor classes encoded [n_a*n_b*samples_per_cell, K].
    """
    a, b = (_factor_position(data, f) for f in factors)
    rng = np.random.default_rng(seed)
    classes, cells = grids.factor_grid_classes(data.factor_sizes, (a, b), samples_per_cell, rng)
    images = float_images(data, data.index_of(classes))
    mean, _ = encode(model, images)
    shape = (data.factor_sizes[a], data.factor_sizes[b])
    return {"means": grids.cell_means(mean, cells, shape), "factors": (a, b),
            "factor_names": (data.factor_names[a], data.factor_names[b]), "classes": classes}


def _heatmap_range(means):
    bound = float(np.nanmax(np.abs(means))) if np.size(means) else 1.0
    bound = max(bound, 1e-6)
    return -bound, bound


def _heatmap_cell(means_ab, cell_hw, vmin, vmax, cmap="coolwarm"):
    """One latent's heat map [n_a, n_b] as an RGB cell [H, W, 3]: x axis = factor a, y axis = b."""
    from matplotlib import colormaps

    h, w = int(cell_hw[0]), int(cell_hw[1])
    image = np.asarray(means_ab).T  # rows: factor b (downwards), columns: factor a
    rows = np.minimum((np.arange(h) * image.shape[0]) // h, image.shape[0] - 1)
    cols = np.minimum((np.arange(w) * image.shape[1]) // w, image.shape[1] - 1)
    scaled = (image[np.ix_(rows, cols)] - vmin) / (vmax - vmin)
    return colormaps[cmap](np.clip(scaled, 0, 1))[..., :3].astype(np.float32)


def factor_heatmaps(model, data, factors=("posX", "posY"), *, latents=None, top_k=None,
                    kl_images=None, samples_per_cell=8, seed=0, cols=5, step=None,
                    title=None) -> Picture:
    """Each latent's posterior mean over two factors (averaged over the others): one panel per latent.

    Args:
      data: a GroundTruthData (factor_names, factor_sizes, index_of, images).
      factors: (x-axis factor, y-axis factor), names or positions; dSprites default posX × posY.
      latents: which latents, in order; default all, sorted by KL (over `kl_images`, default the
        images encoded for the maps), truncated to top_k.
    Returns:
      Picture (a matplotlib figure; panel titles "z<j>  KL <nats>", axes named after the factors, one
      shared colour bar); data: "means" [latent_dim, n_a, n_b], "latents", "kl", "factor_names".
    """
    from matplotlib.figure import Figure

    maps = latent_factor_means(model, data, factors, samples_per_cell=samples_per_cell, seed=seed)
    if kl_images is None:
        kl_images = float_images(data, data.index_of(maps["classes"][:BATCH * 4]))
    kl = latent_kl(model, kl_images)
    order = (grids.kl_order(kl, top_k) if latents is None else np.asarray(latents, np.int64))
    a_name, b_name = maps["factor_names"]
    vmin, vmax = _heatmap_range(maps["means"][order])
    n = len(order)
    cols = max(1, min(int(cols), n))
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(2.0 * cols + 1.0, 2.1 * rows + 0.8), dpi=100)
    axes = fig.subplots(rows, cols, squeeze=False)
    image = None
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        j = order[i]
        means = maps["means"][j]
        image = ax.imshow(means.T, origin="upper", cmap="coolwarm", vmin=vmin, vmax=vmax,
                          interpolation="nearest", aspect="auto")
        ax.set_title(_kl_label(j, kl[j]), fontsize=9)
        ax.set_xlabel(a_name, fontsize=8)
        ax.set_ylabel(b_name, fontsize=8)
        ax.tick_params(labelsize=6)
    fig.suptitle(title or title_of(model, f"mean of z over {a_name} × {b_name}", step), fontsize=10)
    fig.subplots_adjust(left=0.08, right=0.86, top=1 - 0.55 / (2.1 * rows + 0.8), bottom=0.1,
                        wspace=0.45, hspace=0.6)
    cax = fig.add_axes([0.89, 0.15, 0.02, 0.7])
    bar = fig.colorbar(image, cax=cax)
    bar.set_label("posterior mean of z_j (averaged over the other factors)", fontsize=7)
    pixels = figure_to_pixels(fig)
    return Picture(pixels, {"means": maps["means"], "latents": order, "kl": kl,
                            "factor_names": maps["factor_names"], "range": (vmin, vmax)},
                   name="factor_heatmaps")


# ---------------------------------------------------------------------- KL over training
def read_scalars(log_dir, prefix="loss/kl_z"):
    """Scalars of tags starting with `prefix` from the TensorBoard events in log_dir.

    Returns {tag: (steps int64 [n], values float64 [n])}, steps ascending (the last event wins when a
    step repeats, as after a resumed run).
    """
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    if not os.path.isdir(log_dir):
        raise FileNotFoundError(f"no TensorBoard log directory {log_dir!r}; give a run directory "
                                "(its logs/train) or the folder holding the events.out.tfevents files")
    acc = event_accumulator.EventAccumulator(
        log_dir, size_guidance={event_accumulator.TENSORS: 0, event_accumulator.SCALARS: 0})
    acc.Reload()
    tags = acc.Tags()
    out = {}
    for tag in tags.get("tensors", []):
        if tag.startswith(prefix):
            events = acc.Tensors(tag)
            pairs = {e.step: float(tensor_util.make_ndarray(e.tensor_proto)) for e in events}
            out[tag] = pairs
    for tag in tags.get("scalars", []):  # TF1-style summaries
        if tag.startswith(prefix) and tag not in out:
            out[tag] = {e.step: float(e.value) for e in acc.Scalars(tag)}
    return {tag: (np.array(sorted(p), np.int64), np.array([p[s] for s in sorted(p)], np.float64))
            for tag, p in out.items()}


def _log_dir_of(source):
    from tfdisvae import runs

    train = runs.train_log_dir(source)
    return train if os.path.isdir(train) else source


def kl_curves(source, *, labels=None, title=None, logy=False) -> Picture:
    """Poster Fig. 3: dimension-wise KL of each latent over training, one curve per latent.

    Args:
      source: a run directory (reads RUN/logs/train), a log directory, or a dict
        {latent index: (steps [n], kl [n])}.
      labels: optional {latent index: name} (e.g. the factor a latent was seen to encode), shown in
        the legend after "z<j>".
    Returns:
      Picture; data: "curves" {j: (steps, kl)}, "order" (latents by final KL, largest first).
    """
    from matplotlib.figure import Figure

    if isinstance(source, dict):
        curves = {int(j): (np.asarray(s), np.asarray(v, np.float64)) for j, (s, v) in source.items()}
        where = "given curves"
    else:
        log_dir = _log_dir_of(os.fspath(source))
        scalars = read_scalars(log_dir, "loss/kl_z")
        curves = {int(tag[len("loss/kl_z"):]): sv for tag, sv in scalars.items()
                  if tag[len("loss/kl_z"):].isdigit()}
        where = log_dir
        if not curves:
            raise ValueError(f"no loss/kl_z<j> scalars in {log_dir}; train with TensorBoard summaries "
                             "(tfdisvae.callbacks.TrainingSummaries) first")
    order = sorted(curves, key=lambda j: (-curves[j][1][-1], j))
    fig = Figure(figsize=(6.4, 4.0), dpi=100)
    ax = fig.subplots()
    colors = _latent_colors(len(order))
    for color, j in zip(colors, order, strict=True):
        steps, values = curves[j]
        name = f"z{j}" + (f" ({labels[j]})" if labels and j in labels else "")
        ax.plot(steps, values, color=color, lw=1.4, label=f"{name}: {values[-1]:.2f}")
    ax.set_xlabel("training step")
    ax.set_ylabel("KL(q(z_j|x) || p(z_j)), nats")
    if logy:
        ax.set_yscale("symlog", linthresh=1e-2)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2 if len(order) > 6 else 1, title="latent: final KL",
              title_fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title or "dimension-wise KL over training", fontsize=10)
    fig.subplots_adjust(left=0.1, right=0.72, top=0.92, bottom=0.12)
    return Picture(figure_to_pixels(fig), {"curves": curves, "order": order, "source": where},
                   name="kl_curves")


def training_metric(source, metric="aam"):
    """(steps int64 [n], values float64 [n]) of the scalar `metrics/<metric>` a run's MetricsCallback
    wrote (source: a run directory, reads RUN/logs/train, or a log directory). Raises ValueError
    naming the tags found when the run has none."""
    log_dir = _log_dir_of(os.fspath(source))
    scalars = read_scalars(log_dir, "metrics/")
    tag = f"metrics/{metric}"
    if tag not in scalars:
        found = ", ".join(sorted(scalars)) or "none"
        raise ValueError(f"no {tag} scalars in {log_dir} (metrics/ tags found: {found}); train with "
                         "metrics_every > 0 (the poster preset records aam, mig, mmig, mig_discrete)")
    return scalars[tag]


def metric_curves(sources, metric="aam", *, title=None) -> Picture:
    """A disentanglement metric over training (MetricsCallback's `metrics/<metric>`), one curve per run.

    Args:
      sources: {label: run directory, log directory, or (steps [n], values [n])}, or one run
        directory (its curve is labelled by the folder name).
      metric: the metric's name, e.g. "aam", "mig", "mmig", "mig_discrete".
    Returns:
      Picture; data: "curves" {label: (steps, values)}, "metric".
    """
    from matplotlib.figure import Figure

    if not isinstance(sources, dict):
        sources = {os.path.basename(os.path.normpath(os.fspath(sources))): sources}
    curves = {}
    for label, source in sources.items():
        if isinstance(source, (tuple, list)) and len(source) == 2:
            steps, values = source
        else:
            steps, values = training_metric(source, metric)
        curves[str(label)] = (np.asarray(steps, np.int64), np.asarray(values, np.float64))
    fig = Figure(figsize=(6.4, 4.0), dpi=100)
    ax = fig.subplots()
    for color, (label, (steps, values)) in zip(_latent_colors(len(curves)), curves.items(), strict=True):
        final = f": {values[-1]:.2f}" if len(values) else ""
        ax.plot(steps, values, color=color, lw=1.4, marker=".", ms=3, label=f"{label}{final}")
    ax.set_xlabel("training step")
    ax.set_ylabel(f"{metric.upper() if len(metric) <= 4 else metric} (0-1)")
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1000:g}k" if abs(x) >= 1000 else f"{x:g}"))
    top = max((float(np.max(v)) for _, v in curves.values() if len(v)), default=0.0)
    ax.set_ylim(0.0, min(1.0, max(0.05, 1.15 * top)))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, title="run: last value", title_fontsize=7, loc="upper left",
              bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title or f"{metric} over training (MetricsCallback, a fixed subset)", fontsize=10)
    fig.subplots_adjust(left=0.13, right=0.68, top=0.92, bottom=0.12)
    return Picture(figure_to_pixels(fig), {"curves": curves, "metric": metric}, name=f"{metric}_curves")


def _latent_colors(n):
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


# ---------------------------------------------------------------------- animations
def animated_traversal(model, images, mode="std_gaussian_cycle", *, num_images=4, num_frames=40,
                       fps=20, sort_by_kl=True, top_k=None, step=None, title=None,
                       scale=None) -> Animation:
    """An animated traversal (one of disentanglement_lib's five kinds) as GIF frames.

    Rows are latents (sorted by KL), columns the first `num_images` images; in frame t, row j of
    column c decodes the posterior mean of image c with z_j replaced by the t-th value of its cycle
    (see tfdisvae.viz.grids.animation_values; every cycle starts and ends at the image's own value).
    The fitted and min-max modes use the posterior means of all `images`.

    Returns:
      Animation; frames uint8 [num_frames, height, width, 3]; data: "latents", "kl", "values"
      [rows, cols, num_frames].
    """
    from tfdisvae.viz.layout import GridLayout, auto_scale

    if mode not in grids.ANIMATION_MODES:
        raise ValueError(f"unknown animation mode {mode!r}; choose one of "
                         f"{', '.join(grids.ANIMATION_MODES)}")
    _check_images_given(images, "animated_traversal")
    x = _as_images(images, model=model)
    mean, log_var = encode(model, x)
    kl = grids.mean_kl_per_latent(mean, log_var)
    order = _latent_order(model, kl, sort_by_kl, top_k)
    cols = min(int(num_images), len(x))
    values = np.stack([np.stack([grids.animation_values(mode, mean[c, j], mean[:, j], num_frames)
                                 for c in range(cols)]) for j in order])  # [rows, cols, T]
    codes = np.broadcast_to(mean[None, :cols, None, :],
                            (len(order), cols, int(num_frames), model.latent_dim)).copy()
    for r, j in enumerate(order):
        codes[r, :, :, j] = values[r]
    cells = decode(model, codes)  # [rows, cols, T, H, W, C]
    h, w = x.shape[1:3]
    scale = auto_scale((h, w)) if scale is None else int(scale)
    layout = GridLayout(len(order), cols, (h, w), scale=scale,
                        row_labels=[_kl_label(j, kl[j]) for j in order],
                        col_labels=[f"image {c + 1}" for c in range(cols)],
                        title=title or title_of(model, "animated traversal", step),
                        subtitle=mode.replace("_", " "))
    background = layout.background()
    frames = np.stack([layout.paste(background, grids.tile(cells[:, :, t]))
                       for t in range(int(num_frames))])
    return Animation(frames, {"latents": order, "kl": kl, "values": values, "cells": cells},
                     layout, name=mode, fps=fps)


def animated_traversals(model, images, modes=grids.ANIMATION_MODES, **kwargs) -> dict:
    """{mode: Animation} for each of `modes` (default all five; see animated_traversal)."""
    return {mode: animated_traversal(model, images, mode, **kwargs) for mode in modes}
