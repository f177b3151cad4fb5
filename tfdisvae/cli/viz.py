"""python -m tfdisvae.viz RUN_DIR [PLOT ...]: tfdisvae.viz.figures.write_figures (PLOTS, or all).

    python -m tfdisvae.viz runs/beta_vae_h-dsprites-seed0 posterior_traversals kl_curves --top_k=5
    python -m tfdisvae.viz pretrained:poster-factor_vae-dsprites all    # a zoo model (tfdisvae.pretrained)
"""

import sys

from absl import app, flags

from tfdisvae import cli

FLAGS = flags.FlagValues()  # write_figures' keyword arguments
flags.DEFINE_string("out_dir", None, "Default RUN/figures.", flag_values=FLAGS)
flags.DEFINE_string("checkpoint", None, "Checkpoint step (default the latest).", flag_values=FLAGS)
flags.DEFINE_integer("num_images", 8, "Images per row.", flag_values=FLAGS)
flags.DEFINE_integer("top_k", None, "Traversal rows kept (latents by KL).", flag_values=FLAGS)
flags.DEFINE_float("span", 2.0, "Traversals span mean +- span std.", flag_values=FLAGS)
flags.DEFINE_list("heatmap_factors", None, "X,Y (default posX,posY).", flag_values=FLAGS)
flags.DEFINE_integer("seed", 0, "Seed of the images drawn and the samples.", flag_values=FLAGS)


def main(argv):
    from tfdisvae.viz.figures import write_figures

    if len(argv) < 2:
        raise app.UsageError("give the run directory: RUN_DIR [PLOT ...]")
    if FLAGS.heatmap_factors and len(FLAGS.heatmap_factors) != 2:
        raise app.UsageError(f"--heatmap_factors takes X,Y, got {FLAGS.heatmap_factors}")
    try:
        write_figures(argv[1], argv[2:], **FLAGS.flag_values_dict())
    except (FileNotFoundError, ValueError) as err:
        raise app.UsageError(str(err)) from err


def run(argv=None):
    argv = list(sys.argv if argv is None else argv)
    if "--heatmap_factors" in argv[:-2] and "," not in argv[argv.index("--heatmap_factors") + 1]:
        i = argv.index("--heatmap_factors")  # argparse's two-word --heatmap_factors X Y
        argv[i : i + 3] = [f"--heatmap_factors={argv[i + 1]},{argv[i + 2]}"]
    cli.run(main, FLAGS, argv, args="RUN_DIR [PLOT ...]")
