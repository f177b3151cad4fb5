"""Color, noisy and scream dSprites: the dSprites grid with a random nuisance drawn per observation.

The three variants of disentanglement_lib (data/ground_truth/dsprites.py: ColorDSprites, NoisyDSprites,
ScreamDSprites; Locatello et al. 2019). They keep dSprites' five factors and grid (shape 3, scale 6,
orientation 40, posX 32, posY 32: 737,280 points) and turn the binary sprite into an RGB image
uint8 [64, 64, 3]; the nuisance is not a factor:

- color_dsprites: the sprite in one colour, each channel uniform in [0.5, 1); black background.
- noisy_dsprites: white sprite; each background pixel and channel uniform in [0, 1).
- scream_dsprites: the background a random 64×64 patch of a picture (the user's file; disentanglement_lib
  uses Munch's "The Scream", shrunk to fit 350×274 px), averaged with one uniform colour in [0, 1)^3;
  sprite pixels show the inverted background (1 − value).

As there, the nuisance is fresh for each observation; here it is seeded. The nuisance of example i in
epoch e is drawn from numpy.random.default_rng([seed, e, i]) in disentanglement_lib's order (colour; or
noise; or crop row, crop column, colour). `images(indices)` gives epoch 0, so metrics and plots see a
fixed image per example; `as_dataset` gives epoch ⌊position / N⌋ of the stream, so training sees a new
nuisance in every epoch, and the stream is reproducible and resumable (`start_batch`). Values in [0, 1]
are stored as round(255 · value).

    data = tfdisvae.data.load_ground_truth("color_dsprites")                 # base grid: load_dsprites
    data = tfdisvae.data.load_ground_truth("scream_dsprites", background_image="scream.jpg")
"""

from __future__ import annotations

import os

import numpy as np

from tfdisvae.data import cache as cache_lib
from tfdisvae.data.dsprites import FACTOR_SIZES, load_dsprites
from tfdisvae.data.ground_truth import GroundTruthData, _as_indices, _numpy_gather, index_batches
from tfdisvae.data.public_files import DataFileError
from tfdisvae.data.tfds_data import DatasetNotPreparedError

VARIANTS = ("color_dsprites", "noisy_dsprites", "scream_dsprites")
IMAGE_SHAPE = (64, 64, 3)
SCREAM_THUMBNAIL = (350, 274)  # (width, height) the picture is shrunk to fit, as disentanglement_lib
SCREAM_FILE = os.path.join("scream", "scream.jpg")  # default place under data_dir (disentanglement_lib's)


def load_background(path) -> np.ndarray:
    """The scream background: the picture at `path` as float64 RGB [H, W, 3] in [0, 1], shrunk (aspect
    kept) to fit 350 × 274 px as in disentanglement_lib. Raises one line when it is missing or too small."""
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DatasetNotPreparedError(
            f"scream_dsprites needs a background picture and {path} does not exist; save a picture "
            f"(disentanglement_lib uses Munch's The Scream, e.g. the Wikimedia Commons JPEG) there, or "
            f"pass background_image=PATH (--background_image=PATH)")
    try:
        with Image.open(path) as picture:
            picture = picture.convert("RGB")
            # disentanglement_lib: scream.thumbnail((350, 274, 3)), PIL's default bicubic filter.
            picture.thumbnail(SCREAM_THUMBNAIL, Image.BICUBIC)
            array = np.asarray(picture, np.float64) / 255.0
    except (UnidentifiedImageError, OSError) as err:
        raise DataFileError(f"{path} is not a readable picture ({err}); give a JPEG or PNG") from None
    if array.shape[0] <= IMAGE_SHAPE[0] or array.shape[1] <= IMAGE_SHAPE[1]:
        raise DataFileError(f"{path} is {array.shape[1]}×{array.shape[0]} px after shrinking to fit "
                         f"350×274; scream_dsprites crops 64×64 patches and needs more than 64 px "
                         f"each way")
    return array


class DSpritesVariantData(GroundTruthData):
    """A dSprites variant: dSprites' factors, RGB uint8 images [n, 64, 64, 3] with a seeded nuisance.

    Args:
      variant: one of VARIANTS.
      base: the binary dSprites data (a DSpritesData: load_dsprites(...)).
      seed: seed of the nuisance (see the module docstring).
      background: scream_dsprites only: float [H, W, 3] in [0, 1] (load_background), H, W > 64.
    """

    def __init__(self, variant: str, base, seed: int = 0, background=None):
        if variant not in VARIANTS:
            raise ValueError(f"unknown dSprites variant {variant!r}; valid: {', '.join(VARIANTS)}")
        if variant == "scream_dsprites":
            background = np.asarray(background, np.float64)
            if background.ndim != 3 or background.shape[2] != 3 or min(background.shape[:2]) <= 64:
                raise ValueError(f"the scream background must be RGB [H, W, 3] with H, W > 64, got "
                                 f"shape {background.shape}")
        self.variant = variant
        self.base = base
        self.seed = int(seed)
        self.background = background
        source = _VariantImages(self)
        super().__init__(variant, base.factor_names, base.factor_sizes, source,
                         factor_values=base.factor_values_table)

    def images(self, indices, epoch: int = 0) -> np.ndarray:
        """uint8 [n, 64, 64, 3] of examples `indices` with their nuisance of `epoch` (default 0)."""
        idx = _as_indices(indices, self.num_examples)
        return self.draw(idx, np.full(len(idx), int(epoch), np.int64))

    def draw(self, idx: np.ndarray, epochs: np.ndarray) -> np.ndarray:
        """uint8 [n, 64, 64, 3]: example idx[r] with the nuisance of epoch epochs[r]."""
        masks = self.base.images(idx)[..., 0].astype(bool)  # [n, 64, 64], True on the sprite
        out = np.empty((len(idx), *IMAGE_SHAPE), np.uint8)
        for row, (i, epoch) in enumerate(zip(idx.tolist(), np.asarray(epochs).tolist(), strict=True)):
            rng = np.random.default_rng([self.seed, int(epoch), int(i)])
            out[row] = _to_uint8(self._observation(masks[row], rng))
        return out

    def _observation(self, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.variant == "color_dsprites":
            return mask[..., None] * rng.uniform(0.5, 1.0, 3)
        if self.variant == "noisy_dsprites":
            return np.minimum(mask[..., None] + rng.uniform(0.0, 1.0, IMAGE_SHAPE), 1.0)
        height, width = self.background.shape[:2]
        row = rng.integers(0, height - 64)  # upper bound excluded, as numpy's randint there
        col = rng.integers(0, width - 64)
        patch = (self.background[row:row + 64, col:col + 64] + rng.uniform(0.0, 1.0, 3)) / 2.0
        patch[mask] = 1.0 - patch[mask]
        return patch

    def as_dataset(self, batch_size: int, shuffle: bool = True, seed: int | None = None,
                   start_batch: int = 0, repeat: bool = True):
        """float32 [batch_size, 64, 64, 3] in [0, 1]; stream position p carries epoch p // N's nuisance.

        The order is `index_batches`' (seeded by `seed`); the nuisance by the data's own seed.
        """
        import tensorflow as tf

        n, batch = self.num_examples, int(batch_size)
        indices = index_batches(n, batch, shuffle, seed, start_batch, repeat).enumerate(
            start=int(start_batch))

        def fetch(k, idx):
            epochs = (int(k) * batch + np.arange(len(idx))) // n
            return self.draw(np.asarray(idx, np.int64), epochs)

        def gather(k, idx):
            images = tf.numpy_function(fetch, [k, idx], tf.uint8, stateful=False)
            images = tf.ensure_shape(images, [batch, *IMAGE_SHAPE])
            return tf.cast(images, tf.float32) * (1.0 / 255.0)

        return indices.map(gather, num_parallel_calls=tf.data.AUTOTUNE,
                           deterministic=True).prefetch(tf.data.AUTOTUNE)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.variant!r}, {self.num_examples} images "
                f"{self.image_shape}, seed={self.seed})")


class _VariantImages:
    """The image source of a variant (epoch-0 nuisance), for code that reads `data.source`."""

    max_value = 255
    image_shape = IMAGE_SHAPE

    def __init__(self, data: DSpritesVariantData):
        self._data = data
        self.num_examples = data.base.num_examples

    def numpy(self, idx: np.ndarray) -> np.ndarray:
        return self._data.draw(idx, np.zeros(len(idx), np.int64))

    def graph_gather(self):
        return _numpy_gather(self.numpy, IMAGE_SHAPE, 1.0 / 255.0)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def load_dsprites_variant(variant: str, data_dir=None, source: str = "auto",
                          factor_sizes=FACTOR_SIZES, seed: int = 0, background_image=None):
    """A dSprites variant (color_dsprites, noisy_dsprites, scream_dsprites) as DSpritesVariantData.

    Args:
      variant: one of VARIANTS.
      data_dir, source, factor_sizes: of the binary base grid, as load_dsprites.
      seed: seed of the nuisance (default 0).
      background_image: scream_dsprites: path of the background picture (default
        data_dir/scream/scream.jpg, disentanglement_lib's place). Ignored by the other two.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown dSprites variant {variant!r}; valid: {', '.join(VARIANTS)}")
    background = None
    if variant == "scream_dsprites":  # checked before the base grid is loaded or rendered
        path = background_image or os.path.join(cache_lib.default_data_dir(data_dir), SCREAM_FILE)
        background = load_background(path)
    base = load_dsprites(data_dir=data_dir, source=source, factor_sizes=factor_sizes)
    return DSpritesVariantData(variant, base, seed=seed, background=background)
