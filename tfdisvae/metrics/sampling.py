"""What the ground-truth entry points sample: observations, codes, and the representation functions.

A representation function maps images to codes: `fn(images [n, H, W, C]) -> codes [n, D]` (posterior
means, for a VAE). The samplers here always pass float32 images in [0, 1]; `representation_from_model`
also takes uint8 images (0/1 binary or 0..255).
"""

from __future__ import annotations

import numpy as np

DEFAULT_BATCH_SIZE = 512  # images per call of the representation function


def as_rng(seed) -> np.random.Generator:
    """A numpy Generator from an int seed, None (fresh entropy) or a Generator (returned as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def check_ground_truth(data, what="this metric"):
    """Raise a clear error unless `data` has the ground-truth API (factor_sizes, sample_factors, ...)."""
    missing = [name for name in ("factor_sizes", "sample_factors", "images", "index_of")
               if not hasattr(data, name)]
    if missing:
        raise TypeError(
            f"{what} needs a data set with ground-truth factors (tfdisvae.data.load_ground_truth(...)); "
            f"{type(data).__name__} lacks {', '.join(missing)} (images-only sets such as mnist have "
            "no factors to score against)")


def varying_factors(data) -> np.ndarray:
    """Indices of the factors with more than one class (constant factors are left out)."""
    return np.asarray([k for k, size in enumerate(data.factor_sizes) if size > 1], np.int64)


def _scale_of(data, images):
    source = getattr(data, "source", None)
    max_value = getattr(source, "max_value", None)
    if max_value is None:
        max_value = 1 if images.size == 0 or images.max() <= 1 else 255
    return 1.0 / float(max_value)


def observations(data, classes) -> np.ndarray:
    """float32 images [n, H, W, C] in [0, 1] of factor classes [n, K]."""
    images = data.images(data.index_of(classes))
    return images.astype(np.float32) * _scale_of(data, images)


def represent(data, representation_fn, classes, batch_size=DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Codes float64 [n, D] of the images of factor classes [n, K], `batch_size` images per call."""
    classes = np.asarray(classes)
    codes = []
    for start in range(0, len(classes), int(batch_size)):
        out = np.asarray(representation_fn(observations(data, classes[start:start + batch_size])))
        if out.ndim != 2 or len(out) != len(classes[start:start + batch_size]):
            raise ValueError(f"representation_fn must return codes [n, D] for n images; it returned "
                             f"shape {out.shape} for {len(classes[start:start + batch_size])} images")
        codes.append(out.astype(np.float64))
    return np.concatenate(codes) if codes else np.zeros((0, 0))


def sample_codes(data, representation_fn, num_points, rng, batch_size=DEFAULT_BATCH_SIZE):
    """(codes [n, D], factor classes [n, K']) of n points drawn uniformly; K' = the varying factors.

    As disentanglement_lib's generate_batch_factor_code.
    """
    classes = data.sample_factors(int(num_points), rng)
    codes = represent(data, representation_fn, classes, batch_size)
    return codes, classes[:, varying_factors(data)]


def _to_unit_float(images):
    images = np.asarray(images)
    if images.dtype == np.uint8:
        scale = 1.0 if images.size == 0 or images.max() <= 1 else 1.0 / 255.0
        return images.astype(np.float32) * scale
    return images.astype(np.float32)


def posterior_from_model(model, batch_size=DEFAULT_BATCH_SIZE):
    """fn(images [n, H, W, C]) -> (means [n, D], log_vars [n, D]) float32 of model.encode_params.

    Images: float in [0, 1], or uint8 (divided by 255 unless the batch holds only 0 and 1).
    """
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def encode(x):
        return model.encode_params(x, training=False)

    def fn(images):
        images = _to_unit_float(images)
        means, log_vars = [], []
        for start in range(0, len(images), int(batch_size)):
            m, lv = encode(tf.constant(images[start:start + batch_size]))
            means.append(m.numpy())
            log_vars.append(lv.numpy())
        return np.concatenate(means), np.concatenate(log_vars)

    return fn


def representation_from_model(model, batch_size=DEFAULT_BATCH_SIZE):
    """fn(images [n, H, W, C]) -> posterior means [n, D] float32 (the usual representation)."""
    posterior = posterior_from_model(model, batch_size)
    return lambda images: posterior(images)[0]


def encode_points(data, posterior_fn, classes, batch_size=DEFAULT_BATCH_SIZE):
    """(means [n, D], log_vars [n, D]) of the images of factor classes [n, K]."""
    classes = np.asarray(classes)
    means, log_vars = [], []
    for start in range(0, len(classes), int(batch_size)):
        m, lv = posterior_fn(observations(data, classes[start:start + batch_size]))
        means.append(np.asarray(m, np.float32))
        log_vars.append(np.asarray(lv, np.float32))
    return np.concatenate(means), np.concatenate(log_vars)
