"""python -m tfdisvae.viz RUN_DIR [PLOT ...]: write a run's pictures into RUN/figures/.

    python -m tfdisvae.viz runs/beta_vae_h-dsprites-seed0 all
    python -m tfdisvae.viz runs/beta_vae_h-dsprites-seed0 traversals kl_curves --top_k 5
    python -m tfdisvae.viz pretrained:poster-factor_vae-dsprites all    # a zoo model (tfdisvae.pretrained)

PLOT is one or more of: reconstructions, prior_samples, posterior_traversals, prior_traversals,
reconstruct_traverse, factor_heatmaps, kl_curves, animations (the five GIFs), or all. Files:
<plot>.png, and <mode>.gif for the animations (std_gaussian_cycle.gif, ...).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from tfdisvae.viz import grids

PLOTS = ("reconstructions", "prior_samples", "posterior_traversals", "prior_traversals",
         "reconstruct_traverse", "factor_heatmaps", "kl_curves", "animations")


def _load_data(config):
    from tfdisvae.data import pipeline

    return pipeline.load(config)


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

    def save(name, picture):
        path = picture.save(os.path.join(out_dir, f"{name}.png"))
        written.setdefault(name, []).append(path)
        log(f"wrote {path} ({picture.size[0]}x{picture.size[1]})")

    if wanted == ["kl_curves"]:  # needs no model
        save("kl_curves", P.kl_curves(run_dir))
        return written

    if model is None:
        model, config = runs.load_run(run_dir, checkpoint)
    else:
        config = runs.read_config(run_dir)
    if data is None:
        data = _load_data(config)
    rng = np.random.default_rng(seed)
    n = int(data.num_examples)
    indices = rng.choice(n, size=min(int(num_kl_images), n), replace=False)
    max_value = getattr(getattr(data, "source", None), "max_value", None)
    images = grids.to_float_images(data.images(np.sort(indices)), max_value)
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
                animation = P.animated_traversal(model, images, mode, num_images=gif_images,
                                                 num_frames=gif_frames,
                                                 top_k=gif_top_k if gif_top_k else top_k)
                path = animation.save(os.path.join(out_dir, f"{mode}.gif"))
                written.setdefault(name, []).append(path)
                log(f"wrote {path} ({animation.size[0]}x{animation.size[1]}, "
                    f"{len(animation.frames)} frames)")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tfdisvae.viz",
        description="Write a run's pictures (PNG, GIF) into RUN/figures/.")
    parser.add_argument("run_dir", help="run directory written by train.py, or pretrained:<name> "
                        "for a model of the zoo")
    parser.add_argument("plots", nargs="*", default=["all"],
                        help=f"one or more of {', '.join(PLOTS)}, or all (default)")
    parser.add_argument("--out_dir", default=None, help="default RUN/figures")
    parser.add_argument("--checkpoint", default=None, help="checkpoint step (default the latest)")
    parser.add_argument("--num_images", type=int, default=8)
    parser.add_argument("--top_k", type=int, default=None)
    parser.add_argument("--span", type=float, default=2.0)
    parser.add_argument("--heatmap_factors", nargs=2, default=None, metavar=("X", "Y"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        write_figures(args.run_dir, args.plots, out_dir=args.out_dir, checkpoint=args.checkpoint,
                      num_images=args.num_images, top_k=args.top_k, span=args.span,
                      heatmap_factors=args.heatmap_factors, seed=args.seed)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
