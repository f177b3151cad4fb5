"""Synthetic ground truth for the metric tests: a real GroundTruthData whose 'image' of a grid point is
its factor classes, so a representation function can return the factors exactly, a rotation of them, or
noise."""

import numpy as np

from tfdisvae.data.ground_truth import ArrayImages, GroundTruthData

SIZES = (4, 5, 6, 8)   # 960 grid points, 4 factors


def grid_factors(sizes=SIZES) -> np.ndarray:
    return np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), axis=1).astype(np.int64)


def make_data(sizes=SIZES) -> GroundTruthData:
    """Image of grid point i: uint8 [1, K, 1] holding its classes (max_value 255, so codes /255)."""
    images = grid_factors(sizes).astype(np.uint8)[:, None, :, None]
    return GroundTruthData("synthetic", [f"f{k}" for k in range(len(sizes))], sizes,
                           ArrayImages(images, max_value=255))


def classes_of(images) -> np.ndarray:
    """Factor classes [n, K] back from the float images the samplers pass ([0, 1] = classes / 255)."""
    return np.rint(np.asarray(images)[:, 0, :, 0] * 255.0)


def identity_fn(sizes=SIZES):
    """Codes = factor classes scaled to [0, 1]: one latent per factor, perfectly disentangled."""
    scale = 1.0 / (np.asarray(sizes, np.float64) - 1.0)
    return lambda images: classes_of(images) * scale


def rotation_fn(angle=np.pi / 6, noise_std=0.05, sizes=SIZES, seed=1):
    """Identity codes with latents (0, 1) and (2, 3) rotated by `angle`, plus Gaussian noise: entangled
    pairs. (Without noise any generic rotation of sharp codes of discrete factors still determines every
    factor, and information-based scores cannot tell it from the identity.)"""
    base = identity_fn(sizes)
    rng = np.random.default_rng(seed)
    c, s = np.cos(angle), np.sin(angle)
    block = np.kron(np.eye(2), np.array([[c, -s], [s, c]]))

    def fn(images):
        codes = base(images) @ block.T
        return codes + noise_std * rng.standard_normal(codes.shape)
    return fn


def noise_fn(dim=4, seed=0):
    """Codes independent of the images."""
    rng = np.random.default_rng(seed)
    return lambda images: rng.standard_normal((len(images), dim))
