"""Data: dSprites rendered without a download, the ground-truth data API, other sets through TFDS.

    import tfdisvae.data as data_lib
    data = data_lib.load_ground_truth("dsprites")                    # original file, cache, or render
    data = data_lib.load_ground_truth("dsprites", source="render")   # renders just what is asked
    images = data.images([0, 1, 2])        # uint8 [3, 64, 64, 1]
    ds = data.as_dataset(64, seed=0)       # float32 [64, 64, 64, 1] in [0, 1], in-graph, prefetched
    mnist = data_lib.load("mnist", data_dir="/data/tfds")   # prepared offline with `tfds build`

Importing this package does not import TensorFlow; `as_dataset` and the TFDS loaders do.
See docs/data.md.
"""

import importlib

from tfdisvae.data.cache import default_data_dir
from tfdisvae.data.ground_truth import GroundTruthData, ImageData, index_batches
from tfdisvae.data.tfds_data import DatasetNotPreparedError

DATASETS = ("dsprites", "shapes3d", "smallnorb", "mnist", "fashion_mnist", "celeb_a")
GROUND_TRUTH = ("dsprites", "shapes3d", "smallnorb")  # the sets with ground-truth factors

__all__ = ["DATASETS", "GROUND_TRUTH", "DSpritesData", "DatasetNotPreparedError", "GroundTruthData",
           "ImageData", "default_data_dir", "dsprites", "index_batches", "load", "load_ground_truth",
           "render"]


def __getattr__(name):
    # dsprites is imported on first use, so `python -m tfdisvae.data.dsprites` runs it fresh.
    if name == "dsprites":
        return importlib.import_module("tfdisvae.data.dsprites")
    if name in ("render", "DSpritesData"):
        return getattr(importlib.import_module("tfdisvae.data.dsprites"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_name(name: str, valid) -> None:
    if name not in valid:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(valid)}")


def load_ground_truth(name: str = "dsprites", data_dir=None, source: str = "auto", **options):
    """A data set with ground-truth factors, as a GroundTruthData.

    Args:
      name: "dsprites", "shapes3d" or "smallnorb".
      data_dir: data folder (default $TFDISVAE_DATA, else ~/.cache/tfdisvae).
      source: dSprites only: "auto" (the original DeepMind file if in data_dir, else the rendered
        cache, rendered now if missing or damaged), "original", "cache", or "render" (on demand, no
        files). The TFDS sets accept "auto" only.
      options: dsprites: factor_sizes=(a smaller grid, for tests); TFDS sets: image_size, split.
    """
    _check_name(name, GROUND_TRUTH)
    if name == "dsprites":
        from tfdisvae.data.dsprites import load_dsprites

        return load_dsprites(data_dir=data_dir, source=source, **options)
    if source != "auto":
        raise ValueError(f"source={source!r} is for dsprites; {name} is read from TFDS (source='auto')")
    from tfdisvae.data.tfds_data import load_tfds

    return load_tfds(name, data_dir=data_dir, **options)


def load(name: str, data_dir=None, **options):
    """Any data set of DATASETS: GroundTruthData where the set has factors, ImageData otherwise.

    Images come out as the models take them: image_size × image_size (options: image_size=64,
    split=..., or dsprites' source= / factor_sizes=). TFDS sets must be prepared offline in data_dir.
    """
    _check_name(name, DATASETS)
    if name == "dsprites":
        return load_ground_truth(name, data_dir=data_dir, **options)
    from tfdisvae.data.tfds_data import load_tfds

    return load_tfds(name, data_dir=data_dir, **options)
