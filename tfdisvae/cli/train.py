"""absl flags of train.py: one flag per TrainConfig field (same names), then tfdisvae.training.train.

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

from tfdisvae.config import PRESETS, ConfigError, TrainConfig  # noqa: E402

FLAGS = flags.FlagValues()  # this command's own flags (see tfdisvae.cli)

_HELP = {
    "model": "Method: vae, beta_vae_h, beta_vae_b, factor_vae, beta_tcvae, dip_vae_i, dip_vae_ii.",
    "preset": f"Settings to start from: {', '.join(PRESETS)} or none (then flags override them).",
    "dataset": "Data set: dsprites (rendered on demand when no file is cached) or another of "
               "tfdisvae.data.DATASETS (color_dsprites, mpi3d_toy, cars3d, shapes3d, ...).",
    "data_dir": "Folder of the data set files (default: the data module's cache).",
    "data_source": "dsprites and its variants: auto (a cached file if present, else render) or render; "
                   "shapes3d: auto (3dshapes.h5 in --data_dir if present, else TFDS), file or tfds.",
    "background_image": "scream_dsprites: the background picture (default <data_dir>/scream/scream.jpg).",
    "train_subset": "Train on this many images drawn at random with --seed (default: all).",
    "image_shape": "Expected H,W,C of the images (checked against the data and the architecture).",
    "dataset_size": "Number of training images N (set from the data; beta_tcvae's estimators use it).",
    "arch": "Networks: burgess or locatello.",
    "latent_dim": "Number of latents D.",
    "likelihood": "Decoder distribution: bernoulli, gaussian or laplace.",
    "batch_size": "Images per step (factor_vae splits them in two halves).",
    "steps": "Number of VAE updates (--epochs replaces it).",
    "epochs": "Passes over the data; sets steps = ceil(epochs * N / batch_size).",
    "lr": "Adam learning rate of the VAE (default: the method's).",
    "jit_compile": "auto (XLA on a GPU, off on CPU where it is about 2x slower), true or false.",
    "checkpoint_every": "Steps between checkpoints (one is also written at the end).",
    "summary_every": "Steps between TensorBoard scalars loss/<term> (means over those steps).",
    "image_every": "Steps between image summaries (0: none).",
    "metrics_every": "Steps between disentanglement metrics (0: none).",
    "estimates_every": "Steps between full-data estimates of index-code MI, total correlation and "
                       "dimension-wise KL (TensorBoard estimates/*; 0: none).",
    "estimates_points": "Images of the fixed subset whose aggregate posterior those estimates use.",
    "reg_anneal_terms": "Which terms the warm-up (--reg_anneal_steps) scales: all (SPEC) or reference "
                        "(the poster's code: FactorVAE only the TC, beta-TCVAE only the dim-wise KL).",
    "logdir": "Parent folder of run directories.",
    "run_dir": "Run directory (default: <logdir>/<model>-<dataset>-seed<seed>).",
    "verbose": "0 silent, 1 progress bar with ETA, 2 one line every 5% (for log files).",
    "mixed_precision": "none (float32), auto (mixed_float16 on a GPU, mixed_bfloat16 on a CPU with "
                       "AVX-512 BF16/AMX), mixed_bfloat16 or mixed_float16 (GPU only). Loss in float32.",
    "steps_per_execution": "Training steps per call of the compiled train function: auto (up to 50, "
                           "dividing every callback period) or a number dividing them. Callbacks and "
                           "the progress bar run once per call.",
    "strategy": "default (one device), mirrored (all GPUs of this machine) or multi_worker (needs "
                "TF_CONFIG on every worker); --batch_size is the global batch.",
}


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
        help_text = _HELP.get(field.name, f"TrainConfig.{field.name} (default: the method's).")
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
