"""Data: dSprites rendered without a download, its variants, the public MPI3D / Cars3D / 3dshapes files,
the ground-truth data API, other sets through TFDS.

    import tfdisvae.data as data_lib
    data = data_lib.load_ground_truth("dsprites")                    # original file, cache, or render
    data = data_lib.load_ground_truth("dsprites", source="render")   # renders just what is asked
    images = data.images([0, 1, 2])        # uint8 [3, 64, 64, 1]
    ds = data.as_dataset(64, seed=0)       # float32 [64, 64, 64, 1] in [0, 1], in-graph, prefetched
    mnist = data_lib.load("mnist", data_dir="/data/tfds")   # prepared offline with `tfds build`
    data = data_lib.pipeline.load(config)  # a run's config: what train, evaluate and viz all load

Importing this package does not import TensorFlow; `as_dataset` and the TFDS loaders do.
See docs/data.md.
"""

import importlib
import os

from tfdisvae.data.cache import default_data_dir
from tfdisvae.data.ground_truth import (
    ArrayData,
    GroundTruthData,
    ImageData,
    float_images,
    index_batches,
    to_float_images,
)
from tfdisvae.data.public_files import DataFileError
from tfdisvae.data.tfds_data import DatasetNotPreparedError

DSPRITES_VARIANTS = ("color_dsprites", "noisy_dsprites", "scream_dsprites")
FILE_SETS = ("mpi3d_toy", "mpi3d_realistic", "mpi3d_real", "cars3d")  # read from their public files
GROUND_TRUTH = ("dsprites", *DSPRITES_VARIANTS, "shapes3d", "smallnorb", *FILE_SETS)  # with factors
DATASETS = (*GROUND_TRUTH, "mnist", "fashion_mnist", "celeb_a")

__all__ = ["ArrayData", "DATASETS", "DSPRITES_VARIANTS", "DataFileError", "FILE_SETS", "GROUND_TRUTH", "DSpritesData", "DatasetNotPreparedError", "GroundTruthData",
           "ImageData", "default_data_dir", "dsprites", "float_images", "index_batches", "load",
           "load_ground_truth", "pipeline", "render", "to_float_images"]


def __getattr__(name):
    # dsprites is imported on first use, so `python -m tfdisvae.data.dsprites` runs it fresh.
    if name in ("dsprites", "pipeline"):
        return importlib.import_module(f"tfdisvae.data.{name}")
    if name in ("render", "DSpritesData"):
        return getattr(importlib.import_module("tfdisvae.data.dsprites"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_name(name: str, valid) -> None:
    if name not in valid:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(valid)}")


def load_ground_truth(name: str = "dsprites", data_dir=None, source: str = "auto", **options):
    """A data set with ground-truth factors, as a GroundTruthData.

    Args:
      name: one of GROUND_TRUTH.
      data_dir: data folder (default $TFDISVAE_DATA, else ~/.cache/tfdisvae).
      source: dSprites and its variants: "auto" (the original DeepMind file if in data_dir, else the
        rendered cache, rendered now if missing or damaged), "original", "cache", or "render" (on
        demand, no files). shapes3d: "auto" (3dshapes.h5 if in data_dir, else TFDS), "file" or "tfds".
        The other sets accept "auto" only.
      options: dsprites: factor_sizes=(a smaller grid, for tests); its variants also seed= (of the
        nuisance) and, for scream_dsprites, background_image=PATH; the file sets: factor_sizes=; TFDS
        sets: image_size, split.
    """
    _check_name(name, GROUND_TRUTH)
    if name == "dsprites":
        from tfdisvae.data.dsprites import load_dsprites

        return load_dsprites(data_dir=data_dir, source=source, **options)
    if name in DSPRITES_VARIANTS:
        from tfdisvae.data.dsprites_variants import load_dsprites_variant

        return load_dsprites_variant(name, data_dir=data_dir, source=source, **options)
    from tfdisvae.data import public_files

    if name == "shapes3d":
        if source not in ("auto", "file", "tfds"):
            raise ValueError(f"source={source!r} is not one of shapes3d's: 'auto' (3dshapes.h5 if "
                             f"present, else TFDS), 'file' or 'tfds'")
        if source == "file" or (source == "auto" and public_files.find_shapes3d(data_dir)):
            return public_files.load_shapes3d_file(data_dir=data_dir, **options)
    elif source != "auto":
        raise ValueError(f"source={source!r} is for dsprites (and its variants) and shapes3d; {name} "
                         f"takes source='auto'")
    if name in FILE_SETS:
        if name == "cars3d":
            return public_files.load_cars3d(data_dir=data_dir, **options)
        return public_files.load_mpi3d(name, data_dir=data_dir, **options)
    from tfdisvae.data.tfds_data import load_tfds

    try:
        return load_tfds(name, data_dir=data_dir, **options)
    except DatasetNotPreparedError as err:
        if name != "shapes3d":
            raise
        raise DatasetNotPreparedError(
            f"{err}; or fetch {public_files.SHAPES3D_URL} and put it at "
            f"{os.path.join(default_data_dir(data_dir), public_files.SHAPES3D_FILE)}") from None


def load(name: str, data_dir=None, **options):
    """Any data set of DATASETS: GroundTruthData where the set has factors, ImageData otherwise.

    Images come out as the models take them: image_size × image_size (options: image_size=64,
    split=..., or dsprites' source= / factor_sizes=). TFDS sets must be prepared offline in data_dir.
    """
    _check_name(name, DATASETS)
    if name in GROUND_TRUTH:
        return load_ground_truth(name, data_dir=data_dir, **options)
    from tfdisvae.data.tfds_data import load_tfds

    return load_tfds(name, data_dir=data_dir, **options)
