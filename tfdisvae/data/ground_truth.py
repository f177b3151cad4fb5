"""The data API used by training, metrics and plots: a factor grid plus an image source.

    data = tfdisvae.data.load_ground_truth("dsprites")
    data.factor_names, data.factor_sizes, data.num_examples, data.image_shape
    data.images(indices)          # uint8 [n, H, W, C]
    data.factors(indices)         # int64 class indices [n, K]
    data.index_of(factor_classes) # int64 [n]
    data.sample_factors(n, seed)  # int64 [n, K]
    data.as_dataset(batch_size, shuffle=True, seed=None, start_batch=0, repeat=True)

Images-only data sets (mnist, ...) are `ImageData`: the same `as_dataset`, `images`, `num_examples`,
`image_shape`, without factors; `ArrayData` is one made from an array in memory.

The stream of `as_dataset` lives in the graph: the order of epoch e is a stateless shuffle of
range(N) seeded by (seed, e); batches run across epoch boundaries, so batch k holds the positions
k·B .. k·B + B − 1 of the concatenated epochs, and `start_batch=k` starts exactly there. Images are
gathered by index from a tensor (bit-packed for binary sets) and unpacked in-graph; only sources too
large to hold as a tensor, or rendered on demand, go through one `tf.numpy_function` call per batch.
"""

from __future__ import annotations

import math
import os

import numpy as np

# Arrays above this many bytes are gathered from numpy (memory-mapped) instead of copied into a tensor.
TENSOR_LIMIT_BYTES = 1 << 30


def _as_indices(indices, num_examples: int) -> np.ndarray:
    idx = np.asarray(indices)
    if idx.ndim == 0:
        idx = idx[None]
    if idx.ndim != 1:
        raise ValueError(f"indices must be a 1-D array of example indices, got shape {idx.shape}")
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"indices must be integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= num_examples):
        bad = idx[(idx < 0) | (idx >= num_examples)][0]
        raise IndexError(f"example index {bad} is outside 0..{num_examples - 1}")
    return idx


def _aligned_copy(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of `array` in a 64-byte aligned buffer (TF's alignment, for zero-copy DLPack).

    A whole memory-mapped .npy is read straight from its file, so its pages do not also stay resident.
    """
    buffer = np.empty(array.nbytes + 64, np.uint8)
    start = (-buffer.ctypes.data) % 64
    out = buffer[start:start + array.nbytes].view(array.dtype).reshape(array.shape)
    filename = getattr(array, "filename", None)
    if (isinstance(array, np.memmap) and filename and array.flags.c_contiguous
            and os.path.getsize(filename) - array.offset == array.nbytes):
        with open(filename, "rb") as f:
            f.seek(array.offset)
            f.readinto(memoryview(out.reshape(-1).view(np.uint8)))
    else:
        np.copyto(out, array)
    return out


def tensor_store(array: np.ndarray):
    """The array as a non-trainable tf.Variable, made with one copy of the data at most in flight.

    tf.constant(array) holds up to three copies at once, and a tensor captured by a tf.data function is
    copied again; a variable is captured by handle. Peak about 2× and steady 1× the array's bytes.
    """
    import tensorflow as tf

    tensor = tf.experimental.dlpack.from_dlpack(_aligned_copy(array).__dlpack__())
    store = tf.Variable(tensor, trainable=False)
    del tensor
    tf.gather(store, [0])  # the variable's one copy-on-read, here rather than inside the pipeline
    return store


def to_float_images(images, max_value=None) -> np.ndarray:
    """Images [n, H, W, C] or [n, H, W] (1 or 3 channels) as float32 [n, H, W, C] in [0, 1].

    Integer images are multiplied by 1/max_value in float32 (default max_value_of(images)), the bits
    `as_dataset` gives in the graph; float images must lie in [0, 1] (clipped within 1e-3).
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"images must be [n, H, W, C] (or [n, H, W]), got shape {images.shape}")
    if images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels (last axis), got {images.shape[-1]} "
                         f"in shape {images.shape}; give channels-last images")
    if np.issubdtype(images.dtype, np.integer) or images.dtype == bool:
        return images.astype(np.float32) * np.float32(1.0 / (max_value or max_value_of(images)))
    images = images.astype(np.float32)
    if images.size and (np.nanmin(images) < -1e-3 or np.nanmax(images) > 1 + 1e-3):
        raise ValueError(f"float images must lie in [0, 1], got values in "
                         f"[{np.nanmin(images):.3g}, {np.nanmax(images):.3g}]; decode means, not logits")
    return np.clip(images, 0.0, 1.0)


def max_value_of(images, data=None) -> int:
    """The value of white of integer `images` (of `data`): data's source's max_value when it has one,
    else 1 when the largest value is 1 (binary data such as dSprites), else 255."""
    max_value = getattr(getattr(data, "source", None), "max_value", None)
    if max_value is None:
        max_value = 1 if images.size and images.max() <= 1 else 255
    return max_value


def float_images(data, indices) -> np.ndarray:
    """data.images(indices) as float32 in [0, 1], scaled by the value of white of data's source."""
    images = data.images(indices)
    return to_float_images(images, max_value_of(images, data))


# --------------------------------------------------------------------------------------------------
# Image sources: numpy access by index, and an in-graph gather for as_dataset.


class ArrayImages:
    """Images held in a numpy array (in memory or memory-mapped), uint8 [N, H, W, C] (or float32 in
    [0, 1] with max_value=1).

    `max_value` is the value of white: 1 for binary data, 255 for 8-bit images; images come out of
    `as_dataset` multiplied by 1/max_value.
    """

    def __init__(self, array: np.ndarray, max_value: int = 255):
        if array.ndim == 3:
            array = array[..., None]
        if array.ndim != 4 or not (array.dtype == np.uint8 or
                                   (array.dtype == np.float32 and max_value == 1)):
            raise ValueError(f"images must be uint8 [N, H, W, C] (or float32 with max_value=1), got "
                             f"{array.dtype} {array.shape}")
        self.array = array
        self.max_value = max_value
        self.image_shape = tuple(array.shape[1:])
        self.num_examples = len(array)

    def numpy(self, idx: np.ndarray) -> np.ndarray:
        if idx.size > 1 and np.all(np.diff(idx) == 1):  # a contiguous range: a plain slice
            return np.asarray(self.array[idx[0]:idx[-1] + 1])
        return np.asarray(self.array[idx])

    def graph_gather(self):
        import tensorflow as tf

        scale = 1.0 / self.max_value
        if self.array.nbytes > TENSOR_LIMIT_BYTES:
            return _numpy_gather(self.numpy, self.image_shape, scale)
        if getattr(self, "_store", None) is None:
            self._store = tensor_store(self.array)  # made once, shared by every as_dataset call
        images = self._store

        def gather(idx):
            return tf.cast(tf.gather(images, idx), tf.float32) * scale

        return gather


class PackedBinaryImages:
    """Binary images bit-packed along the width (np.packbits, big-endian bits): uint8 [N, H, W/8].

    A full dSprites grid costs 377 MB this way instead of 3 GB.
    """

    def __init__(self, packed: np.ndarray, width: int):
        if packed.ndim != 3 or packed.dtype != np.uint8 or packed.shape[2] * 8 < width:
            raise ValueError(f"packed images must be uint8 [N, H, ceil(W/8)], got {packed.dtype} "
                             f"{packed.shape} for W={width}")
        self.packed = packed
        self.width = width
        self.max_value = 1
        self.image_shape = (packed.shape[1], width, 1)
        self.num_examples = len(packed)

    def numpy(self, idx: np.ndarray) -> np.ndarray:
        rows = np.asarray(self.packed[idx])
        return np.unpackbits(rows, axis=-1, count=self.width)[..., None]

    def graph_gather(self):
        import tensorflow as tf

        if self.packed.nbytes > TENSOR_LIMIT_BYTES:
            return _numpy_gather(self.numpy, self.image_shape, 1.0)
        if getattr(self, "_store", None) is None:
            self._store = tensor_store(self.packed)  # made once, shared by every as_dataset call
        packed = self._store
        # Row b of the table holds the 8 bits of byte b, most significant first, as float32.
        table = tf.constant(np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1),
                            tf.float32)
        height, width = self.image_shape[:2]

        def gather(idx):
            bits = tf.gather(table, tf.cast(tf.gather(packed, idx), tf.int32))  # [B, H, W/8, 8]
            bits = tf.reshape(bits, [-1, height, packed.shape[2] * 8])
            return bits[:, :, :width, None]

        return gather


class RenderedImages:
    """Images made on demand by `render_fn(idx) -> uint8 [n, H, W, C]` (no cache, nothing stored)."""

    def __init__(self, render_fn, image_shape, num_examples: int, max_value: int = 1):
        self.render_fn = render_fn
        self.image_shape = tuple(image_shape)
        self.num_examples = num_examples
        self.max_value = max_value

    def numpy(self, idx: np.ndarray) -> np.ndarray:
        return self.render_fn(idx)

    def graph_gather(self):
        return _numpy_gather(self.numpy, self.image_shape, 1.0 / self.max_value)


def _numpy_gather(numpy_fn, image_shape, scale):
    import tensorflow as tf

    def fetch(idx):
        return numpy_fn(np.asarray(idx, np.int64))

    def gather(idx):
        images = tf.numpy_function(fetch, [idx], tf.uint8, stateful=False)
        images = tf.ensure_shape(images, [None, *image_shape])
        return tf.cast(images, tf.float32) * scale

    return gather


# --------------------------------------------------------------------------------------------------


def index_batches(num_examples: int, batch_size: int, shuffle: bool = True, seed: int | None = None,
                  start_batch: int = 0, repeat: bool = True):
    """tf.data.Dataset of int64 [batch_size] example indices (full batches only).

    Epoch e is range(N) shuffled statelessly by (seed, e) (or in order when shuffle=False); the epochs
    are concatenated and cut into batches, and the stream starts at batch `start_batch`, so resuming
    with start_batch=k yields exactly what an uninterrupted stream yields from batch k on. seed=None
    draws a fresh seed (a different order every call). repeat=False: one pass, the last partial batch
    dropped.
    """
    import tensorflow as tf

    n, batch_size, start_batch = int(num_examples), int(batch_size), int(start_batch)
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    if start_batch < 0:
        raise ValueError(f"start_batch must be ≥ 0, got {start_batch}")
    if not repeat and batch_size > n:
        raise ValueError(f"batch_size {batch_size} is larger than the data set ({n} examples) and "
                         f"repeat=False: no full batch exists; use a smaller batch or repeat=True")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    position = start_batch * batch_size
    first_epoch, skip = divmod(position, n)
    last_epoch = 1 if not repeat else 2**62
    seed_t = tf.constant(int(seed), tf.int64)

    def epoch_order(epoch):
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=tf.stack([seed_t, epoch]))
        return tf.data.Dataset.from_tensor_slices(order)

    epochs = tf.data.Dataset.range(first_epoch, max(first_epoch, last_epoch))
    return epochs.flat_map(epoch_order).skip(skip).batch(batch_size, drop_remainder=True)


def make_dataset(source, batch_size, shuffle=True, seed=None, start_batch=0, repeat=True):
    """Batched, prefetched tf.data.Dataset of float32 images [batch_size, H, W, C] in [0, 1]."""
    import tensorflow as tf

    gather = source.graph_gather()
    ds = index_batches(source.num_examples, batch_size, shuffle, seed, start_batch, repeat)
    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE,
                  deterministic=True).prefetch(tf.data.AUTOTUNE)


class ImageData:
    """A data set of images without ground-truth factors (mnist, fashion_mnist, celeb_a)."""

    def __init__(self, name: str, source):
        self.name = name
        self.source = source
        self.image_shape = source.image_shape
        self.num_examples = source.num_examples

    def images(self, indices) -> np.ndarray:
        """uint8 [n, H, W, C] (0/1 for binary data sets, 0..255 otherwise)."""
        return self.source.numpy(_as_indices(indices, self.num_examples))

    def as_dataset(self, batch_size: int, shuffle: bool = True, seed: int | None = None,
                   start_batch: int = 0, repeat: bool = True):
        """Batched, prefetched tf.data.Dataset of float32 images [batch_size, H, W, C] in [0, 1].

        Deterministic given `seed`; `start_batch=k` yields the stream of an uninterrupted call from
        batch k on (see `index_batches`).
        """
        return make_dataset(self.source, batch_size, shuffle, seed, start_batch, repeat)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.num_examples} images {self.image_shape})"


class ArrayData(ImageData):
    """Images in memory ([N, H, W, C] as to_float_images takes them, scaled once) as an ImageData.

    Its stream is every data set's (index_batches). Before issue 16 ArrayData drew its own order
    (numpy.random.default_rng([seed, epoch]).permutation): a run trained on it (train_subset, or
    training.train(data=...)) then resumes on other batches.
    """

    def __init__(self, images, name="array", max_value=None):
        super().__init__(name, ArrayImages(to_float_images(images, max_value), max_value=1))


class GroundTruthData(ImageData):
    """Images with ground-truth factors on a grid of `factor_sizes` classes.

    Args:
      name: data set name.
      factor_names: K names.
      factor_sizes: K class counts.
      source: image source (ArrayImages, PackedBinaryImages, RenderedImages).
      factors: int [N, K] class indices of example i, or None when example i is grid point i (the full
        grid, row-major: dSprites).
      factor_values: optional list of K arrays, the value of each class.
    """

    def __init__(self, name, factor_names, factor_sizes, source, factors=None, factor_values=None):
        super().__init__(name, source)
        self.factor_names = tuple(factor_names)
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        if len(self.factor_names) != len(self.factor_sizes):
            raise ValueError(f"{len(self.factor_names)} factor names for {len(self.factor_sizes)} sizes")
        self.num_factors = len(self.factor_sizes)
        self.factor_values_table = factor_values
        grid_size = math.prod(self.factor_sizes)
        if factors is None:
            if grid_size != self.num_examples:
                raise ValueError(f"the grid {self.factor_sizes} has {grid_size} points but the source "
                                 f"holds {self.num_examples} images; pass factors=")
            self._factors = None
            self._row_of = None
        else:
            factors = np.asarray(factors, np.int64)
            if factors.shape != (self.num_examples, self.num_factors):
                raise ValueError(f"factors must be [{self.num_examples}, {self.num_factors}], got "
                                 f"{factors.shape}")
            self._factors = factors
            # Grid point -> example row (the last one wins if a point repeats; -1 where none).
            self._row_of = np.full(grid_size, -1, np.int64)
            self._row_of[np.ravel_multi_index(factors.T, self.factor_sizes)] = np.arange(len(factors))

    @property
    def complete_grid(self) -> bool:
        """True when every grid point has exactly one image and image i is grid point i."""
        return self._factors is None

    def factors(self, indices) -> np.ndarray:
        """int64 class indices [n, K] of the examples `indices`."""
        idx = _as_indices(indices, self.num_examples)
        if self._factors is not None:
            return self._factors[idx]
        return np.stack(np.unravel_index(idx, self.factor_sizes), axis=1).astype(np.int64)

    def index_of(self, factor_classes) -> np.ndarray:
        """Example indices int64 [n] of class indices [n, K] (or [K])."""
        classes = np.asarray(factor_classes)
        if classes.ndim == 1:
            classes = classes[None]
        if classes.ndim != 2 or classes.shape[1] != self.num_factors:
            raise ValueError(f"factor classes must be [n, {self.num_factors}] "
                             f"({', '.join(self.factor_names)}), got shape {classes.shape}")
        sizes = np.asarray(self.factor_sizes)
        bad = (classes < 0) | (classes >= sizes)
        if bad.any():
            row, k = np.argwhere(bad)[0]
            raise ValueError(f"factor {self.factor_names[k]} class {classes[row, k]} is outside "
                             f"0..{sizes[k] - 1}")
        grid = np.ravel_multi_index(classes.T.astype(np.int64), self.factor_sizes)
        if self._row_of is None:
            return grid.astype(np.int64)
        rows = self._row_of[grid]
        if np.any(rows < 0):
            missing = classes[np.argmax(rows < 0)]
            raise KeyError(f"{self.name} holds no image of factor classes {missing.tolist()}")
        return rows

    def sample_factors(self, n: int, seed=None) -> np.ndarray:
        """n factor-class vectors int64 [n, K] drawn uniformly from the examples of the data set.

        seed: an int or a np.random.Generator. On a complete grid this is uniform over the grid.
        """
        rng = np.random.default_rng(seed)
        if self._factors is None:
            return np.stack([rng.integers(size, size=int(n)) for size in self.factor_sizes],
                            axis=1).astype(np.int64)
        return self._factors[rng.integers(self.num_examples, size=int(n))]

    def images_of(self, factor_classes) -> np.ndarray:
        """uint8 [n, H, W, C] images of the given factor classes [n, K]."""
        return self.images(self.index_of(factor_classes))

    def factors_to_values(self, factor_classes) -> np.ndarray:
        """Factor values float64 [n, K] of class indices [n, K] (needs factor_values)."""
        if self.factor_values_table is None:
            raise ValueError(f"{self.name} has no factor values, only class indices")
        classes = np.atleast_2d(np.asarray(factor_classes, np.int64))
        return np.stack([np.asarray(self.factor_values_table[k])[classes[:, k]]
                         for k in range(self.num_factors)], axis=1)
