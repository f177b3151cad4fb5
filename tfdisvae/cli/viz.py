"""absl flags of python -m tfdisvae.viz RUN_DIR [PLOT ...]: a run's pictures into RUN/figures/.

    python -m tfdisvae.viz runs/beta_vae_h-dsprites-seed0 all
    python -m tfdisvae.viz runs/beta_vae_h-dsprites-seed0 posterior_traversals kl_curves --top_k=5
    python -m tfdisvae.viz pretrained:poster-factor_vae-dsprites all    # a zoo model (tfdisvae.pretrained)

PLOT is one or more of tfdisvae.viz.cli.PLOTS, or all (the default); tfdisvae.viz.cli.write_figures
draws them.
"""

import sys

from absl import app, flags

FLAGS = flags.FlagValues()  # this command's own flags (see tfdisvae.cli)
flags.DEFINE_string("out_dir", None, "Folder of the pictures (default RUN/figures).", flag_values=FLAGS)
flags.DEFINE_string("checkpoint", None, "Checkpoint step (default the latest).", flag_values=FLAGS)
flags.DEFINE_integer("num_images", 8, "Images per row: reconstructions, traversal values.", flag_values=FLAGS)
flags.DEFINE_integer("top_k", None, "Traversal rows kept (latents by KL).", flag_values=FLAGS)
flags.DEFINE_float("span", 2.0, "Traversals cover mean +- span standard deviations.", flag_values=FLAGS)
flags.DEFINE_list("heatmap_factors", None, "X,Y: the two factors of the heat maps (default posX,posY).",
                  flag_values=FLAGS)
flags.DEFINE_integer("seed", 0, "Seed of the images drawn and the samples.", flag_values=FLAGS)


def main(argv):
    from tfdisvae.viz.cli import write_figures

    if len(argv) < 2:
        raise app.UsageError("give the run directory: RUN_DIR [PLOT ...]")
    if FLAGS.heatmap_factors is not None and len(FLAGS.heatmap_factors) != 2:
        raise app.UsageError(f"--heatmap_factors takes two factors X,Y, got {FLAGS.heatmap_factors}")
    try:
        write_figures(argv[1], argv[2:] or ["all"], out_dir=FLAGS.out_dir, checkpoint=FLAGS.checkpoint,
                      num_images=FLAGS.num_images, top_k=FLAGS.top_k, span=FLAGS.span,
                      heatmap_factors=FLAGS.heatmap_factors, seed=FLAGS.seed)
    except (FileNotFoundError, ValueError) as err:
        raise app.UsageError(str(err)) from err


def run(argv=None):
    """The command; argv as sys.argv. The older `--heatmap_factors X Y` still works."""
    from tfdisvae import cli

    argv = list(sys.argv if argv is None else argv)
    if "--heatmap_factors" in argv[:-2] and "," not in argv[argv.index("--heatmap_factors") + 1]:
        i = argv.index("--heatmap_factors")
        argv[i:i + 3] = [f"--heatmap_factors={argv[i + 1]},{argv[i + 2]}"]
    cli.run(main, FLAGS, argv, args="RUN_DIR [PLOT ...]")


if __name__ == "__main__":
    run()
