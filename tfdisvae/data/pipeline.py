"""The data of a run's config, for training, evaluation and pictures alike.

    from tfdisvae.data import pipeline
    data = pipeline.load(config)                   # the whole data set (GroundTruthData or ImageData)
    train_data = pipeline.training_data(config, data)   # or its `train_subset` images, in memory

Importing this module does not import TensorFlow.
"""

import zipfile

import numpy as np

import tfdisvae.data as data_lib
from tfdisvae.data.ground_truth import ArrayData


class DataError(RuntimeError, ValueError):
    """The data cannot be read (a TFDS set not prepared, a damaged file); one line naming the fix.

    Also a ValueError, so the command lines report it as they report their other bad input."""


def load(config, data_dir=None):
    """The whole data set of `config` (dataset, data_source, background_image, data_dir).

    data_dir: overrides config.data_dir. Raises ConfigError for an unknown data set, DataError when
    the data cannot be read, runs.DiskFullError when the disk filled while caching it.
    """
    from tfdisvae.config import ConfigError

    data_dir = data_dir or config.data_dir
    if config.dataset not in data_lib.DATASETS:
        raise ConfigError(f"unknown dataset {config.dataset!r}; valid: {', '.join(data_lib.DATASETS)}")
    options = {}
    if config.dataset in data_lib.GROUND_TRUTH:
        options["source"] = getattr(config, "data_source", None) or "auto"
        if config.dataset == "scream_dsprites" and getattr(config, "background_image", None):
            options["background_image"] = config.background_image
    try:
        return data_lib.load(config.dataset, data_dir=data_dir, **options)
    except ConfigError:
        raise
    except (data_lib.DataFileError, FileNotFoundError) as err:  # damaged, or not prepared: the fix
        raise DataError(str(err)) from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as err:
        from tfdisvae import runs

        full = runs.disk_full_error(err, f"the {config.dataset} cache under "
                                         f"{data_dir or '$TFDISVAE_DATA'}")
        if full is not None:
            raise full from None
        raise _damaged(config.dataset, data_dir, err) from None


def _damaged(dataset, data_dir, err):
    detail = " ".join(str(err).split())[:200]
    if dataset == "dsprites":
        from tfdisvae.data.dsprites import find_original

        path = find_original(data_dir)
        if path is not None:
            return DataError(f"the dSprites file {path} cannot be read ({type(err).__name__}: {detail}); "
                             "it is damaged or not the original: replace it with a fresh copy, or move it "
                             "away and give --data_source=render to render the images instead")
    return DataError(f"the {dataset} data cannot be read ({type(err).__name__}: {detail}); "
                     "prepare the data set again (see docs/training.md)")


def training_data(config, data=None):
    """The training images of `config`: `data` (default load(config)) itself, or its `train_subset`
    images drawn with numpy.random.default_rng(config.seed), as an ArrayData."""
    if data is None:
        data = load(config)
    if config.train_subset is None:
        return data
    n = data.num_examples
    if config.train_subset > n:
        from tfdisvae.config import ConfigError

        raise ConfigError(f"train_subset {config.train_subset} is larger than {config.dataset} "
                          f"({n} images); give at most {n}")
    indices = np.sort(np.random.default_rng(config.seed).choice(n, size=config.train_subset,
                                                                replace=False))
    return ArrayData(data.images(indices), name=f"{config.dataset}[{config.train_subset}]",
                     max_value=data.source.max_value)
