"""What the ground-truth entry points sample: observations, codes, and the representation functions.

A representation function maps images to codes: `fn(images [n, H, W, C]) -> codes [n, D]` (posterior
means, for a VAE). The samplers here always pass float32 images in [0, 1] (tfdisvae.data's
float_images); `representation_from_model` also takes uint8 images (0/1 binary or 0..255).
"""

from __future__ import annotations

import numpy as np

from tfdisvae.data.ground_truth import float_images, to_float_images

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


def observations(data, classes) -> np.ndarray:
    """float32 images [n, H, W, C] in [0, 1] of factor classes [n, K]."""
    return float_images(data, data.index_of(classes))


def represent(data, representation_fn, classes, batch_size=DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Codes float64 [n, D] of the images of factor classes [n, K], `batch_size` images per call."""
    classes = np.asarray(classes)
    if isinstance(representation_fn, SharedEncoding) and representation_fn.covers(data):
        return representation_fn.posterior_of(data.index_of(classes))[0].astype(np.float64)
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


def posterior_from_model(model, batch_size=DEFAULT_BATCH_SIZE):
    """fn(images [n, H, W, C]) -> (means [n, D], log_vars [n, D]) float32 of model.encode_params.

    Images: float in [0, 1], or uint8 (divided by 255 unless the batch holds only 0 and 1).
    """
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def encode(x):
        return model.encode_params(x, training=False)

    def fn(images):
        images = to_float_images(images)
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
    """(means [n, D], log_vars [n, D]) of the images of factor classes [n, K]; posterior_fn may be
    a SharedEncoding of `data` (then nothing is encoded twice)."""
    classes = np.asarray(classes)
    if isinstance(posterior_fn, SharedEncoding) and posterior_fn.covers(data):
        return posterior_fn.posterior_of(data.index_of(classes))
    means, log_vars = [], []
    for start in range(0, len(classes), int(batch_size)):
        m, lv = posterior_fn(observations(data, classes[start:start + batch_size]))
        means.append(np.asarray(m, np.float32))
        log_vars.append(np.asarray(lv, np.float32))
    return np.concatenate(means), np.concatenate(log_vars)


class SharedEncoding:
    """The posterior of `data`'s points under a model, encoded once and shared between metrics.

    `posterior_of(indices)` encodes (in batches of `batch_size`, each point at most once) the indices
    not seen yet and returns (means [n, D], log_vars [n, D]) float32 from the cache ([N, D] arrays:
    80·N bytes for D = 10, 59 MB on dSprites). Every sampler of this module (`represent`,
    `sample_codes`, `encode_points`) then looks codes up instead of rendering and encoding images
    again, so the estimator, the loss columns and disentanglement_lib's scores (whose 960,000 FactorVAE
    images are grid points) share one pass over the data. Called on images it is an ordinary
    representation function (posterior means), for anything else.
    """

    def __init__(self, model_or_posterior_fn, data, batch_size=DEFAULT_BATCH_SIZE):
        self.posterior_fn = (model_or_posterior_fn if callable(model_or_posterior_fn)
                             and not hasattr(model_or_posterior_fn, "encode_params")
                             else posterior_from_model(model_or_posterior_fn, batch_size))
        self.data = data
        self.batch_size = int(batch_size)
        self._means = self._log_vars = None
        self._done = np.zeros(int(data.num_examples), bool)
        self.encoded = 0  # images encoded so far

    def __call__(self, images):
        return np.asarray(self.posterior_fn(images)[0])

    def covers(self, data):
        """True when `data` is the data set this encoding indexes."""
        return data is self.data

    def posterior_of(self, indices):
        """(means [n, D], log_vars [n, D]) float32 of the data points `indices` (int [n])."""
        indices = np.asarray(indices, np.int64).reshape(-1)
        todo = np.unique(indices[~self._done[indices]])
        for start in range(0, len(todo), self.batch_size):
            rows = todo[start:start + self.batch_size]
            self.store(rows, *self.posterior_fn(float_images(self.data, rows)))
        if self._means is None:  # nothing asked for yet
            return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
        return self._means[indices], self._log_vars[indices]

    def has(self, indices) -> bool:
        """True when every point of `indices` is encoded already."""
        return bool(np.all(self._done[np.asarray(indices, np.int64)]))

    def store(self, indices, means, log_vars):
        """Record the posterior of points `indices` encoded elsewhere (the elbo pass encodes as it goes)."""
        indices = np.asarray(indices, np.int64)
        means, log_vars = np.asarray(means, np.float32), np.asarray(log_vars, np.float32)
        if self._means is None:
            shape = (len(self._done), means.shape[1])
            self._means, self._log_vars = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
        self._means[indices], self._log_vars[indices] = means, log_vars
        self.encoded += int(np.sum(~self._done[indices]))
        self._done[indices] = True
