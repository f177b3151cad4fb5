"""Other data sets through TensorFlow Datasets, offline: mnist, fashion_mnist, celeb_a, shapes3d, smallnorb.

Nothing is ever downloaded (`download=False`, `try_gcs=False`): prepare a data set on a machine with
internet (`tfds build NAME --data_dir DIR`) and copy DIR over. A set missing here fails at once with
that advice.

The first load reads the TFDS split once, resizes the images to `image_size` × `image_size` (centre crop
to a square first when needed: celeb_a) and writes them as uint8 `.npy` (plus the factor classes) to a
checksummed cache, data_dir/tfds-cache/<name>-<split>-<size>/; later loads memory-map it. Images keep
their TFDS example order; ground-truth sets carry one factor-class row per image, so `index_of` finds
an image by its factors even though TFDS stores the grid shuffled.

| name | factors (classes) | split |
|---|---|---|
| shapes3d | floor_hue 10, wall_hue 10, object_hue 10, scale 8, shape 4, orientation 15 | train (480,000) |
| smallnorb | category 5, instance 10, elevation 9, azimuth 18, lighting 6 (left camera) | train+test (48,600) |
| mnist, fashion_mnist | — | train |
| celeb_a | — | train |
"""

from __future__ import annotations

import dataclasses
import logging
import os

import numpy as np

from tfdisvae.data import cache as cache_lib
from tfdisvae.data.ground_truth import ArrayImages, GroundTruthData, ImageData

log = logging.getLogger("tfdisvae.data")


@dataclasses.dataclass(frozen=True)
class TfdsSet:
    split: str
    factor_keys: tuple[str, ...] = ()  # TFDS feature names of the factor classes
    factor_names: tuple[str, ...] = ()


TFDS_SETS = {
    "mnist": TfdsSet("train"),
    "fashion_mnist": TfdsSet("train"),
    "celeb_a": TfdsSet("train"),
    "shapes3d": TfdsSet(
        "train",
        ("label_floor_hue", "label_wall_hue", "label_object_hue", "label_scale", "label_shape",
         "label_orientation"),
        ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")),
    "smallnorb": TfdsSet(
        "train+test",
        ("label_category", "instance", "label_elevation", "label_azimuth", "label_lighting"),
        ("category", "instance", "elevation", "azimuth", "lighting")),
}


class DatasetNotPreparedError(FileNotFoundError):
    """A TFDS data set is not prepared in the data folder (and nothing here may download it)."""


def _not_prepared(name: str, tfds_dir: str | None, err: Exception) -> DatasetNotPreparedError:
    where = tfds_dir or "TFDS's default folder (~/tensorflow_datasets or $TFDS_DATA_DIR)"
    return DatasetNotPreparedError(
        f"data set {name!r} is not prepared in {where}, and tfdisvae never downloads. On a machine "
        f"with internet run `tfds build {name} --data_dir DIR` (pip install tensorflow-datasets), "
        f"copy DIR/{name} to {tfds_dir or '~/tensorflow_datasets'}/{name}, and pass "
        f"--data_dir {tfds_dir or 'DIR'}. (tfds said: {str(err).splitlines()[0][:200]})")


def _resize(image, size: int | None):
    import tensorflow as tf

    if size is None:
        return image
    height, width = image.shape[0], image.shape[1]
    if height != width:  # centre crop to a square
        side = min(height, width)
        image = tf.image.crop_to_bounding_box(image, (height - side) // 2, (width - side) // 2,
                                              side, side)
    if image.shape[0] == size:
        return image
    method = "area" if image.shape[0] > size else "bilinear"
    resized = tf.image.resize(image, [size, size], method=method)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def _open_split(name: str, split: str, tfds_dir):
    """(tf.data.Dataset, DatasetInfo) of a prepared TFDS split; DatasetNotPreparedError if absent."""
    import tensorflow_datasets as tfds

    try:
        return tfds.load(name, split=split, data_dir=tfds_dir, download=False, try_gcs=False,
                         shuffle_files=False, with_info=True)
    except (AssertionError, FileNotFoundError, tfds.core.registered.DatasetNotFoundError) as err:
        raise _not_prepared(name, tfds_dir, err) from None


def _write_split(ds, info, spec: TfdsSet, split: str, image_size, writer) -> None:
    """Writes a TFDS split into the writer's images.npy (and factors.npy, int64 [N, K])."""
    import tensorflow as tf

    count = int(ds.cardinality())
    if count < 0:
        count = int(info.splits[split].num_examples)
    keys = spec.factor_keys

    def convert(example):
        image = _resize(example["image"], image_size)
        return (image, tf.stack([tf.cast(example[k], tf.int64) for k in keys])) if keys else image

    ds = ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE).batch(1024)
    images = factors = None
    start = 0
    for batch in ds.as_numpy_iterator():
        batch_images, batch_factors = batch if keys else (batch, None)
        if images is None:
            images = writer.open_memmap("images.npy", np.uint8, (count, *batch_images.shape[1:]))
            if keys:
                factors = writer.open_memmap("factors.npy", np.int64, (count, len(keys)))
        images[start:start + len(batch_images)] = batch_images
        if keys:
            factors[start:start + len(batch_images)] = batch_factors
        start += len(batch_images)
    if start != count:
        raise ValueError(f"{info.name} {split}: read {start} examples, TFDS announced {count}")


def load_tfds(name: str, data_dir=None, image_size: int | None = 64, split: str | None = None):
    """A TFDS data set as GroundTruthData (shapes3d, smallnorb) or ImageData (the others).

    Args:
      name: one of TFDS_SETS.
      data_dir: the folder holding the prepared TFDS data (`tfds build NAME --data_dir DIR`); the
        converted cache goes to data_dir/tfds-cache. None: TFDS's default folder, and our cache in
        $TFDISVAE_DATA or ~/.cache/tfdisvae.
      image_size: images are made image_size × image_size (None: TFDS's size).
      split: TFDS split expression (default per data set, see the table above).
    Raises:
      DatasetNotPreparedError within a second when the data set is not prepared.
    """
    import tensorflow_datasets as tfds

    if name not in TFDS_SETS:
        raise ValueError(f"unknown TFDS data set {name!r}; valid: {', '.join(TFDS_SETS)}")
    spec = TFDS_SETS[name]
    split = split or spec.split
    tfds_dir = os.path.abspath(os.path.expanduser(os.fspath(data_dir))) if data_dir else None
    size_tag = "native" if image_size is None else f"{int(image_size)}px"
    folder = os.path.join(cache_lib.default_data_dir(data_dir), "tfds-cache",
                          f"{name}-{split.replace('+', '_')}-{size_tag}")
    try:
        version = str(tfds.builder(name, data_dir=tfds_dir).version)
    except tfds.core.registered.DatasetNotFoundError as err:
        raise _not_prepared(name, tfds_dir, err) from None
    key = {"tfds_name": name, "version": version, "split": split, "image_size": image_size,
           "factor_keys": list(spec.factor_keys)}
    if cache_lib.verify(folder, key) is not None:
        ds, info = _open_split(name, split, tfds_dir)
        log.warning("converting TFDS %s %s to %s", name, split, folder)
        with cache_lib.CacheWriter(folder, key) as writer:
            _write_split(ds, info, spec, split, image_size, writer)
    images = np.load(os.path.join(folder, "images.npy"), mmap_mode="r")
    source = ArrayImages(images, max_value=255)
    if not spec.factor_keys:
        return ImageData(name, source)
    factors = np.load(os.path.join(folder, "factors.npy"))
    features = tfds.builder(name, data_dir=tfds_dir).info.features
    sizes = [features[k].num_classes for k in spec.factor_keys]
    return GroundTruthData(name, spec.factor_names, sizes, source, factors=factors)
