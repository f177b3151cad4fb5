"""absl flags of `python -m tfdisvae.study` (console script tfdisvae-study): train, evaluate, tabulate.

    python -m tfdisvae.study --study=poster_table1 [--steps=N | --images=N] [--seeds=0,1] [--table_only]

runs tfdisvae.study.run_study: trains STUDY_DIR/<setting>-seed<k>/ for every setting and seed (a
finished run is skipped, a half-trained one resumes), evaluates them and writes STUDY_DIR/table.md,
table.json, hparams/ (see tfdisvae.study).
"""

import copy

from absl import app, flags

from tfdisvae.study.runner import DEFAULT_METRICS, DEFAULT_NUM_POINTS, FIGURES, run_study
from tfdisvae.study.studies import SHIPPED_PATH, STUDIES

FLAGS = flags.FlagValues()  # this command's own flags (see tfdisvae.cli)
flags.DEFINE_string("study", "poster_table1", f"Study to run: {', '.join(STUDIES)}.", flag_values=FLAGS)
flags.DEFINE_integer("steps", None, "Steps per run, replacing the preset's 30 epochs (stated in the table).",
                     flag_values=FLAGS)
flags.DEFINE_integer("images", None, "Images per run instead of --steps: steps = images / batch size, "
                     "so every setting sees the same epochs (the preset's budget is 30 epochs).",
                     flag_values=FLAGS)
flags.DEFINE_string("seeds", "0", "Comma-separated seeds of every setting, e.g. 0,1.", flag_values=FLAGS)
flags.DEFINE_string("study_dir", None, "Study directory (default runs/study-<study>).", flag_values=FLAGS)
flags.DEFINE_string("metrics", DEFAULT_METRICS, "Comma-separated metric names (tfdisvae.metrics.METRICS).",
                    flag_values=FLAGS)
flags.DEFINE_integer("num_points", DEFAULT_NUM_POINTS, "Points for mig_discrete, factor_vae_score, dci "
                     "(default: disentanglement_lib's sizes, 10,000 / 5,000).", flag_values=FLAGS)
flags.DEFINE_string("shipped", SHIPPED_PATH, "JSON of the poster's shipped models' scores "
                    "(study.read_shipped); absent: their cells show —.", flag_values=FLAGS)
flags.DEFINE_integer("poster_num_points", None, "Points for mig, mmig, aam, elbo (default every point).",
                     flag_values=FLAGS)
flags.DEFINE_integer("num_samples", None, "Monte-Carlo samples of the poster's MI estimator (default 2000).",
                     flag_values=FLAGS)
flags.DEFINE_string("only", None, "Comma-separated setting names to run (default all).", flag_values=FLAGS)
flags.DEFINE_string("data_dir", None, "Data folder (default $TFDISVAE_DATA).", flag_values=FLAGS)
flags.DEFINE_bool("table_only", False, "Rebuild table and HParams logs from finished runs; train nothing.",
                  flag_values=FLAGS)
flags.DEFINE_bool("figures", True, "Write the poster's Fig. 2-4 of each run.", flag_values=FLAGS)
flags.DEFINE_string("data_source", None, "dSprites source for every run (auto | render; default the "
                    "preset's).", flag_values=FLAGS)
flags.DEFINE_integer("train_subset", None, "Train every run on this many images (default all).",
                     flag_values=FLAGS)
flags.DEFINE_integer("latent_dim", None, "Latents of every run (default the preset's 10).", flag_values=FLAGS)


def _seeds(text):
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise app.UsageError(f"--seeds must be comma-separated integers, e.g. 0,1; got {text!r}") from None
    if not seeds:
        raise app.UsageError("--seeds names no seed; give e.g. --seeds=0 or --seeds=0,1")
    return seeds


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; every setting is a --flag.")
    overrides = {k: FLAGS[k].value for k in ("data_source", "train_subset", "latent_dim")
                 if FLAGS[k].value is not None}
    try:
        run_study(FLAGS.study, FLAGS.study_dir, steps=FLAGS.steps, images=FLAGS.images, seeds=_seeds(FLAGS.seeds),
                  metrics=FLAGS.metrics, num_points=FLAGS.num_points,
                  poster_num_points=FLAGS.poster_num_points, num_samples=FLAGS.num_samples,
                  only=FLAGS.only, data_dir=FLAGS.data_dir, table_only=FLAGS.table_only,
                  figures=FIGURES if FLAGS.figures else (), overrides=overrides, shipped=FLAGS.shipped)
    except (FileNotFoundError, ValueError) as err:
        raise app.UsageError(str(err)) from err


def run():
    """Console-script entry point (tfdisvae-study)."""
    from tfdisvae import cli

    cli.run(main, FLAGS)


def study_command(study, steps=None, seeds=(0,), metrics=DEFAULT_METRICS, num_points=DEFAULT_NUM_POINTS,
                  poster_num_points=None, num_samples=None, only=None, images=None):
    """The command line that trains and evaluates this study (what table.md states): these flags as
    absl serializes them, in their order; --study, --seeds and each other that is not its default."""
    values = dict(locals(), seeds=",".join(str(int(s)) for s in seeds),
                  only=only if only is None or isinstance(only, str) else ",".join(only))
    flag_values = copy.deepcopy(FLAGS)
    parts = ["python -m tfdisvae.study"]
    for name in flag_values:
        if name in values:
            flag_values[name].value = values[name]
            if name in ("study", "seeds") or values[name] != flag_values[name].default:
                parts.append(flag_values[name].serialize())
    return " ".join(parts)
