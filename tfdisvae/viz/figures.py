"""write_figures: a run's PLOTS into RUN/figures/ as <plot>.png, and <mode>.gif for the five animations
(std_gaussian_cycle.gif, ...). The command python -m tfdisvae.viz RUN_DIR [PLOT ...]: tfdisvae.cli.viz.
"""

import os

import numpy as np

from tfdisvae.data.ground_truth import float_images
from tfdisvae.viz import grids

PLOTS = ("reconstructions", "prior_samples", "posterior_traversals", "prior_traversals",
         "reconstruct_traverse", "factor_heatmaps", "kl_curves", "animations")


def _heatmap_factors(data, factors):
    names = list(getattr(data, "factor_names", ()))
    if factors:
        return tuple(factors)
    if "posX" in names and "posY" in names:
        return ("posX", "posY")
    return tuple(names[-2:]) if len(names) >= 2 else None


def write_figures(run_dir, plots=("all",), *, out_dir=None, checkpoint=None, data=None,
                  num_images=8, num_kl_images=256, top_k=None, span=2.0, heatmap_factors=None,
                  samples_per_cell=8, seed=0, gif_images=4, gif_frames=40, gif_top_k=None,
                  model=None, log=print):
    """Write the pictures of a run; returns {plot name: [paths]}.

    Args:
      run_dir: the run directory (config.json, checkpoints/, logs/train/).
      plots: names of PLOTS, or "all".
      out_dir: default RUN/figures.
      checkpoint: step or path of the checkpoint (default the latest).
      data: the data set (default: the run's, from config.json).
      num_images: images per row (reconstructions, traversal values, Fig. 2 columns).
      num_kl_images: images drawn (numpy.random.default_rng(seed)) to measure each latent's KL.
      top_k: traversal rows kept (prior traversals default to 5, as the poster's Fig. 4).
      gif_images, gif_frames, gif_top_k: columns, frames and latent rows (default top_k) of the GIFs.
      model: an already loaded model (skips load_run; config is still read from run_dir).
    """
    from tfdisvae import runs
    from tfdisvae.pretrained.zoo import resolve_run_dir
    from tfdisvae.viz import plots as P

    run_dir = resolve_run_dir(run_dir, log=log)  # "pretrained:<name>" -> its run directory
    plots = list(plots) or ["all"]
    unknown = sorted(set(plots) - set(PLOTS) - {"all"})
    if unknown:
        raise ValueError(f"unknown plot(s) {', '.join(unknown)}; choose from {', '.join(PLOTS)} or all")
    wanted = list(PLOTS) if "all" in plots else [p for p in PLOTS if p in plots]
    out_dir = out_dir or runs.figures_dir(run_dir)
    written = {}

    def save(name, picture, file=None):  # a Picture (<name>.png) or an Animation (file)
        path = picture.save(os.path.join(out_dir, file or f"{name}.png"))
        written.setdefault(name, []).append(path)
        frames = f", {len(picture.frames)} frames" if hasattr(picture, "frames") else ""
        log(f"wrote {path} ({picture.size[0]}x{picture.size[1]}{frames})")

    if wanted == ["kl_curves"]:  # needs no model
        save("kl_curves", P.kl_curves(run_dir))
        return written

    model, config = (runs.load_run(run_dir, checkpoint) if model is None
                     else (model, runs.read_config(run_dir)))
    if data is None:
        from tfdisvae.data import pipeline

        data = pipeline.load(config)
    rng = np.random.default_rng(seed)
    n = int(data.num_examples)
    indices = rng.choice(n, size=min(int(num_kl_images), n), replace=False)
    images = float_images(data, np.sort(indices))
    images = images[rng.permutation(len(images))]
    shown = images[:num_images]
    kl = P.latent_kl(model, images)
    factors = _heatmap_factors(data, heatmap_factors)
    has_factors = factors is not None and hasattr(data, "index_of")

    for name in wanted:
        if name == "reconstructions":
            save(name, P.reconstructions(model, shown))
        elif name == "prior_samples":
            save(name, P.prior_samples(model, 64 if num_images >= 8 else num_images**2, seed=seed))
        elif name == "posterior_traversals":
            save(name, P.traversals(model, shown, kl=kl, top_k=top_k, span=span,
                                    num_values=max(num_images, 2)))
        elif name == "prior_traversals":
            save(name, P.traversals(model, None, mode="prior", kl=kl, top_k=top_k or 5, span=span,
                                    num_values=max(num_images, 2), seed=seed))
        elif name == "reconstruct_traverse":
            save(name, P.reconstruct_traverse(model, shown, data=data if has_factors else None,
                                              heatmap_factors=factors or ("posX", "posY"),
                                              top_k=top_k, span=span, kl=kl,
                                              samples_per_cell=samples_per_cell, seed=seed))
        elif name == "factor_heatmaps":
            if not has_factors:
                log(f"skipped factor_heatmaps: {config.dataset} has no ground-truth factors")
                continue
            save(name, P.factor_heatmaps(model, data, factors, kl_images=images, top_k=top_k,
                                         samples_per_cell=samples_per_cell, seed=seed))
        elif name == "kl_curves":
            try:
                save(name, P.kl_curves(run_dir))
            except (FileNotFoundError, ValueError) as error:
                log(f"skipped kl_curves: {error}")
        elif name == "animations":
            for mode in grids.ANIMATION_MODES:
                save(name, P.animated_traversal(model, images, mode, num_images=gif_images,
                                                num_frames=gif_frames, top_k=gif_top_k or top_k),
                     f"{mode}.gif")
    return written
