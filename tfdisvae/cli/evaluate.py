"""absl flags of python -m tfdisvae.evaluate (tfdisvae-evaluate): scores a run, or ranks runs with UDR.

    python -m tfdisvae.evaluate --run_dir=RUN [--metrics=mig,aam,...|all] [--num_points=N]
    python -m tfdisvae.evaluate --udr=RUN1,RUN2,... [--num_points=1000]

tfdisvae.evaluate (evaluate_run, evaluate_udr) says what is computed and written.
"""

from absl import app, flags

from tfdisvae.evaluate import DEFAULT_METRICS

FLAGS = flags.FlagValues()  # this command's own flags (see tfdisvae.cli)
flags.DEFINE_string("run_dir", None, "Run directory written by train.py (config.json, checkpoints/), "
                    "or pretrained:<name> for a model of the zoo (python -m tfdisvae.pretrained lists them).", flag_values=FLAGS)
flags.DEFINE_string("metrics", DEFAULT_METRICS, "Comma-separated metric names (tfdisvae.metrics.METRICS).", flag_values=FLAGS)
flags.DEFINE_integer("num_points", None, "Points per metric (default: the published sizes: every point "
                     "for mig/mmig/aam/elbo, disentanglement_lib's defaults for the others).", flag_values=FLAGS)
flags.DEFINE_integer("num_samples", None, "Monte-Carlo samples of the poster's MI estimator "
                     "(default 2000).", flag_values=FLAGS)
flags.DEFINE_string("checkpoint", None, "Checkpoint step or path (default: the latest).", flag_values=FLAGS)
flags.DEFINE_integer("seed", 0, "Seed of every sampled quantity.", flag_values=FLAGS)
flags.DEFINE_string("data_dir", None, "Data folder (default: the run's, else $TFDISVAE_DATA).", flag_values=FLAGS)
flags.DEFINE_integer("batch_size", 512, "Images per encoder call.", flag_values=FLAGS)
flags.DEFINE_string("udr", None, "Comma-separated run directories (>= 2) to rank with UDR (Duan et al. "
                    "2020) instead of --run_dir; --num_points images (default 1,000).", flag_values=FLAGS)


def main(argv):
    from tfdisvae.evaluate import evaluate_run, evaluate_udr

    if not (FLAGS.udr or FLAGS.run_dir):
        raise app.UsageError("--run_dir is required: the directory train.py wrote, or "
                             "pretrained:<name> (or --udr RUN1,RUN2).")
    try:
        if FLAGS.udr:
            evaluate_udr(FLAGS.udr, FLAGS.num_points, FLAGS.checkpoint, FLAGS.seed, FLAGS.data_dir,
                         FLAGS.batch_size)
        else:
            evaluate_run(FLAGS.run_dir, FLAGS.metrics, FLAGS.num_points, FLAGS.num_samples,
                         FLAGS.checkpoint, FLAGS.seed, FLAGS.data_dir, FLAGS.batch_size)
    except (FileNotFoundError, ValueError, TypeError) as err:
        raise app.UsageError(str(err)) from err


def run(argv=None):
    """Console-script entry point (tfdisvae-evaluate); argv as sys.argv."""
    from tfdisvae import cli

    cli.run(main, FLAGS, argv)


if __name__ == "__main__":
    run()
