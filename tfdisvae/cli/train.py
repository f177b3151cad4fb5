"""absl flags of train.py: one flag per TrainConfig field (same names, help from the field), then
tfdisvae.training.train.

    python train.py                                   # the "quick" preset: beta_vae_h on dSprites,
                                                      # 3,000 steps, a few minutes on a laptop CPU
    python train.py --model=factor_vae --steps=5000
    python train.py --preset=poster --model=beta_tcvae   # the poster's dSprites settings (30 epochs)

Precedence: TrainConfig defaults < --preset < flags given on the command line. Running the same command
again resumes the run ("resuming from step N"). Errors in the settings, data that cannot be read, a run
directory that cannot be written, checkpoints none of which restores and a full disk are one line on
stderr (exit 2); a NaN/Inf loss stops training with one line (exit 1), keeping the last good checkpoint.
"""

import dataclasses
import os
import sys
import types
import typing

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from tfdisvae.config import ConfigError, TrainConfig  # noqa: E402

FLAGS = flags.FlagValues()  # this command's own flags (see tfdisvae.cli)

def _base_type(annotation):
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0]
    return annotation


def _define_flags():
    for field in dataclasses.fields(TrainConfig):
        if field.name in FLAGS:
            continue
        kind = _base_type(field.type)
        help_text = field.metadata.get("help", f"TrainConfig.{field.name} (default: the method's).")
        if field.name == "image_shape":
            flags.DEFINE_list(field.name, None, help_text, flag_values=FLAGS)
        elif kind is int:
            flags.DEFINE_integer(field.name, field.default, help_text, flag_values=FLAGS)
        elif kind is float:
            flags.DEFINE_float(field.name, field.default, help_text, flag_values=FLAGS)
        else:
            flags.DEFINE_string(field.name, field.default, help_text, flag_values=FLAGS)


_define_flags()


def config_from_flags(flag_values=FLAGS):
    """TrainConfig from the parsed flags: preset first, then the flags given on the command line."""
    given = {}
    for field in dataclasses.fields(TrainConfig):
        if field.name == "preset" or not flag_values[field.name].present:
            continue
        value = flag_values[field.name].value
        if isinstance(value, str) and value.lower() == "none" and field.name not in ("model",):
            value = None
        if field.name == "image_shape" and value is not None:
            try:
                value = tuple(int(v) for v in value)
            except ValueError:
                raise ConfigError(f"image_shape must be integers H,W,C, got {','.join(value)!r}") \
                    from None
        given[field.name] = value
    preset = flag_values.preset
    if isinstance(preset, str) and preset.lower() == "none":
        preset = None
    return TrainConfig.create(preset=preset, **given)


def main(argv):
    from absl import logging

    logging.set_verbosity(logging.WARNING)  # no INFO lines of TF's checkpoint saver in the progress
    if len(argv) > 1:
        _fail(f"unexpected arguments {' '.join(argv[1:])}; settings are flags like --steps=1000 "
              "(see --help)", 2)
    try:
        config = config_from_flags()
    except ConfigError as err:
        _fail(str(err), 2)
    import tensorflow as tf

    from tfdisvae import runs
    from tfdisvae.training import DataError, TrainingDiverged, WorkerLost, train

    try:
        run_dir = train(config)
    except (ConfigError, runs.CheckpointError, runs.DiskFullError, DataError) as err:
        _fail(str(err), 2)
    except (OSError, tf.errors.OpError) as err:  # out of space in a summary or another file
        full = runs.disk_full_error(err, getattr(err, "filename", None) or "the run directory")
        if full is None:
            raise
        _fail(str(full), 2)
    except (TrainingDiverged, WorkerLost) as err:
        _fail(str(err), 1)
    print(f"run directory: {run_dir}")


def _fail(message, code):
    print(f"train.py: error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def run():
    """Console entry point (tfdisvae-train) and the body of the top-level train.py."""
    from tfdisvae import cli

    cli.run(main, FLAGS)


if __name__ == "__main__":
    run()
