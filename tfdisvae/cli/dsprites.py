"""absl flags of python -m tfdisvae.data.dsprites: build the rendered dSprites cache, write the npz.

    python -m tfdisvae.data.dsprites --render [--data_dir DIR]    # build (or verify) the rendered cache
    python -m tfdisvae.data.dsprites --write_npz PATH [--data_dir DIR]   # the original single-file format
"""

import logging

from absl import app, flags

FLAGS = flags.FlagValues()  # this command's own flags (see tfdisvae.cli)
flags.DEFINE_string("data_dir", None, "Data folder (default $TFDISVAE_DATA or ~/.cache/tfdisvae).",
                    flag_values=FLAGS)
flags.DEFINE_boolean("render", False, "Render the grid into the cache (or verify an existing cache).",
                     flag_values=FLAGS)
flags.DEFINE_string("write_npz", None, "PATH: write the original single-file npz format there.",
                    flag_values=FLAGS)


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
    """The command; argv as sys.argv."""
    from tfdisvae import cli

    cli.run(main, FLAGS, argv)


if __name__ == "__main__":
    run()
