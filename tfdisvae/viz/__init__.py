"""Pictures of disentangling VAEs: the poster's figures and disentanglement_lib's animated traversals.

    from tfdisvae import viz
    viz.reconstructions(model, images).save("rec.png")
    viz.traversals(model, images, mode="prior", top_k=5).save("prior_traversals.png")   # poster Fig. 4
    viz.reconstruct_traverse(model, images, data=dsprites).save("fig2.png")             # poster Fig. 2
    viz.factor_heatmaps(model, dsprites, ("posX", "posY")).save("heatmaps.png")
    viz.kl_curves(run_dir).save("kl.png")                                               # poster Fig. 3
    viz.metric_curves({"VAE": vae_run, "FactorVAE": factor_run}, "aam").save("aam.png")  # AAM over training
    viz.animated_traversal(model, images, "fitted_gaussian_cycle").save("fitted.gif")

Command line: `python -m tfdisvae.viz RUN_DIR all` writes every picture into RUN/figures/.
During training: `tfdisvae.viz.ImageSummaries` (a Keras callback) writes `images/reconstructions` and
`images/traversals` to TensorBoard. Layers: `grids` (numpy) -> `layout` (labelled pixels, matplotlib
Agg) -> `plots` (model-bound) -> `callbacks`, `cli`. See docs/viz.md.
"""

import importlib

from tfdisvae.viz.grids import ANIMATION_MODES
from tfdisvae.viz.layout import Animation, Picture
from tfdisvae.viz.plots import (
    animated_traversal,
    animated_traversals,
    decode,
    encode,
    factor_heatmaps,
    kl_curves,
    latent_factor_means,
    latent_kl,
    metric_curves,
    prior_samples,
    read_scalars,
    reconstruct_traverse,
    reconstructions,
    training_metric,
    traversals,
)

__all__ = ["ANIMATION_MODES", "Animation", "ImageSummaries", "Picture", "animated_traversal",
           "animated_traversals", "decode", "encode", "factor_heatmaps", "kl_curves",
           "latent_factor_means", "latent_kl", "metric_curves", "prior_samples", "read_scalars",
           "reconstruct_traverse", "reconstructions", "training_metric", "traversals",
           "write_figures"]


def __getattr__(name):
    # Keras is imported only by the callback and the command line.
    if name == "ImageSummaries":
        return importlib.import_module("tfdisvae.callbacks.images").ImageSummaries
    if name == "write_figures":
        return importlib.import_module("tfdisvae.viz.figures").write_figures
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
