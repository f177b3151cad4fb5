"""python -m tfdisvae.evaluate (tfdisvae-evaluate): tfdisvae.evaluate's evaluate_run or evaluate_udr."""

from absl import app, flags

from tfdisvae import cli
from tfdisvae.evaluate import DEFAULT_METRICS

FLAGS = flags.FlagValues()  # evaluate_run's keyword arguments, and udr
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
    settings = FLAGS.flag_values_dict()
    try:
        if settings.pop("udr"):
            udr = ("num_points", "checkpoint", "seed", "data_dir", "batch_size")
            evaluate_udr(FLAGS.udr, **{name: settings[name] for name in udr})
        else:
            evaluate_run(**settings)
    except (FileNotFoundError, ValueError, TypeError) as err:
        raise app.UsageError(str(err)) from err


def run(argv=None):  # tfdisvae-evaluate and python -m tfdisvae.evaluate
    cli.run(main, FLAGS, argv)
