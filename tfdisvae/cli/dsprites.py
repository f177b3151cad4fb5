"""python -m tfdisvae.data.dsprites --render | --write_npz PATH (see tfdisvae.data.dsprites)."""

import logging

from absl import app, flags

from tfdisvae import cli

FLAGS = flags.FlagValues()  # this command's own flags (see tfdisvae.cli)
flags.DEFINE_string("data_dir", None, "Default $TFDISVAE_DATA or ~/.cache/tfdisvae.", flag_values=FLAGS)
flags.DEFINE_boolean("render", False, "Render (or verify) the rendered cache.", flag_values=FLAGS)
flags.DEFINE_string("write_npz", None, "PATH: write the original npz file.", flag_values=FLAGS)


def main(argv):
    from tfdisvae.data import dsprites

    if not (FLAGS.render or FLAGS.write_npz):
        raise app.UsageError("nothing to do: give --render and/or --write_npz PATH")
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)  # not absl's prefix
    if FLAGS.render:
        print(dsprites.build_cache(FLAGS.data_dir))
    if FLAGS.write_npz:
        print(dsprites.write_npz(FLAGS.write_npz, FLAGS.data_dir))


def run(argv=None):
    cli.run(main, FLAGS, argv)
