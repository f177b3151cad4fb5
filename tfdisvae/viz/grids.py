"""Pure numpy parts of the pictures: image grids, traversal values, KL order, factor heat maps.

Nothing here knows about models, TensorFlow or matplotlib: images are numpy arrays
`[..., H, W, C]` float32 in [0, 1] and every function is deterministic given its inputs (and `rng`).

Grid geometry (used by the tests and by `layout`): a grid of `rows x cols` cells of `H x W` pixels
separated by `pad` pixels is `rows*H + (rows-1)*pad` high and `cols*W + (cols-1)*pad` wide; cell
(r, c) starts at pixel (r*(H+pad), c*(W+pad)).
"""

from __future__ import annotations

import statistics

import numpy as np

from tfdisvae.data.ground_truth import to_float_images  # noqa: F401 (grids.to_float_images)

PAD_VALUE = 0.5  # mid grey between cells: visible against white shapes and black backgrounds

# disentanglement_lib's five kinds of animated traversal (visualize_model.py), by its file names.
ANIMATION_MODES = ("std_gaussian_cycle", "fitted_gaussian_cycle", "fixed_interval_cycle",
                   "conf_interval_cycle", "minmax_interval_cycle")


def grid_shape(rows, cols, cell_shape, pad=2):
    """(height, width) in pixels of a `rows x cols` grid of `cell_shape` (H, W) cells."""
    h, w = int(cell_shape[0]), int(cell_shape[1])
    return rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad


def cell_origin(row, col, cell_shape, pad=2):
    """Top-left pixel (y, x) of cell (row, col) in a grid."""
    return row * (int(cell_shape[0]) + pad), col * (int(cell_shape[1]) + pad)


def tile(images, pad=2, pad_value=PAD_VALUE) -> np.ndarray:
    """Tile `images` [rows, cols, H, W, C] into one image [rows*H + (rows-1)*pad, cols*W + ..., C]."""
    images = np.asarray(images, np.float32)
    if images.ndim != 5:
        raise ValueError(f"tile takes images [rows, cols, H, W, C], got shape {images.shape}")
    rows, cols, h, w, c = images.shape
    height, width = grid_shape(rows, cols, (h, w), pad)
    out = np.full((height, width, c), pad_value, np.float32)
    for r in range(rows):
        for col in range(cols):
            y, x = cell_origin(r, col, (h, w), pad)
            out[y:y + h, x:x + w] = images[r, col]
    return out


def untile(grid, rows, cols, cell_shape, pad=2) -> np.ndarray:
    """The inverse of `tile`: cells [rows, cols, H, W, C] of a grid image [height, width, C]."""
    h, w = int(cell_shape[0]), int(cell_shape[1])
    grid = np.asarray(grid)
    expected = grid_shape(rows, cols, (h, w), pad)
    if grid.shape[:2] != expected:
        raise ValueError(f"a {rows}x{cols} grid of {h}x{w} cells with pad {pad} is {expected}, "
                         f"got {grid.shape[:2]}")
    cells = [[grid[y:y + h, x:x + w] for x in (cell_origin(r, c, (h, w), pad)[1]
                                                for c in range(cols))]
             for r, y in ((r, cell_origin(r, 0, (h, w), pad)[0]) for r in range(rows))]
    return np.asarray(cells)


def square_layout(n):
    """(rows, cols) of the most nearly square grid holding n cells (cols >= rows)."""
    cols = int(np.ceil(np.sqrt(n)))
    return int(np.ceil(n / cols)), cols


def to_rgb(image) -> np.ndarray:
    """[..., 1] or [..., 3] float image -> [..., 3]."""
    image = np.asarray(image, np.float32)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def upscale(image, factor) -> np.ndarray:
    """Nearest-neighbour upscaling of [H, W, C] by an integer factor."""
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"upscale factor must be a positive integer, got {factor}")
    if factor == 1:
        return np.asarray(image)
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def to_uint8(image) -> np.ndarray:
    """Float image in [0, 1] -> uint8 (rounded)."""
    return np.round(np.clip(np.asarray(image, np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)


# ---------------------------------------------------------------------- latents
def mean_kl_per_latent(mean, log_var) -> np.ndarray:
    """Mean over a batch of the analytic KL(q(z_j|x) || N(0, 1)): [latent_dim], nats.

    mean, log_var: [batch, latent_dim]. The same closed form as
    tfdisvae.objectives.decomposition.kl_per_latent, in numpy.
    """
    mean = np.asarray(mean, np.float64)
    log_var = np.asarray(log_var, np.float64)
    return np.mean(0.5 * (np.exp(log_var) + mean**2 - 1.0 - log_var), axis=0)


def kl_order(kl, top_k=None) -> np.ndarray:
    """Latent indices sorted by decreasing KL (ties: lower index first), truncated to `top_k`."""
    kl = np.asarray(kl, np.float64)
    if kl.ndim != 1:
        raise ValueError(f"kl must be one value per latent [latent_dim], got shape {kl.shape}")
    order = np.argsort(-kl, kind="stable")
    if top_k is not None:
        if int(top_k) < 1:
            raise ValueError(f"top_k must be a positive number of latents, got {top_k}")
        order = order[:int(top_k)]
    return order


def traversal_values(span=2.0, num_values=10) -> np.ndarray:
    """The values a latent takes along a traversal row: [num_values], float32.

    span: a half-width s (values linspace(-s, s), in prior standard deviations; the poster's code uses
      ±2 around the prior's mean) or a pair (low, high).
    """
    if int(num_values) < 2:
        raise ValueError(f"a traversal needs at least 2 values, got num_values={num_values}")
    if np.ndim(span) == 0:
        span = float(span)
        if not span > 0:
            raise ValueError(f"span must be a positive half-width or a (low, high) pair, got {span}")
        low, high = -span, span
    else:
        low, high = (float(v) for v in span)
        if not high > low:
            raise ValueError(f"span (low, high) needs high > low, got {span}")
    return np.linspace(low, high, int(num_values)).astype(np.float32)


def traversal_codes(base, latents, values) -> np.ndarray:
    """Codes of a traversal grid: [len(latents), len(values), latent_dim].

    Row r is `base` [latent_dim] with latent `latents[r]` replaced by each of `values` in turn.
    """
    base = np.asarray(base, np.float32)
    if base.ndim != 1:
        raise ValueError(f"base must be one code [latent_dim], got shape {base.shape}")
    latents = np.asarray(latents, np.int64)
    values = np.asarray(values, np.float32)
    codes = np.broadcast_to(base, (len(latents), len(values), base.shape[0])).copy()
    for r, j in enumerate(latents):
        codes[r, :, j] = values
    return codes


def _triangle(start, num_frames):
    """num_frames points going from `start` in [0, 1] up to 1, down to 0 and back up to `start`:
    one round trip of a triangle wave over [0, 1]."""
    t = (start + np.linspace(0.0, 2.0, int(num_frames))) % 2.0
    return np.where(t > 1.0, 2.0 - t, t)


def cycle_gaussian(start, num_frames, loc=0.0, scale=1.0, clip=1e-3) -> np.ndarray:
    """A smooth round trip through the quantiles of N(loc, scale²) starting at `start`: [num_frames].

    The probability Φ((start-loc)/scale) moves along a triangle wave over [clip, 1-clip] and is mapped
    back through the quantile function (disentanglement_lib's Gaussian cycles, with its 0.001 clip).
    """
    if not scale > 0:
        raise ValueError(f"cycle_gaussian needs scale > 0, got {scale}")
    normal = statistics.NormalDist(float(loc), float(scale))
    p = _triangle(normal.cdf(float(start)), num_frames)
    p = np.clip(p, clip, 1.0 - clip)
    return np.array([normal.inv_cdf(float(q)) for q in p], np.float32)


def cycle_interval(start, num_frames, low, high) -> np.ndarray:
    """A round trip over [low, high] starting at `start` (a triangle wave): [num_frames]."""
    if not high > low:
        raise ValueError(f"cycle_interval needs high > low, got [{low}, {high}]")
    s = float(np.clip((start - low) / (high - low), 0.0, 1.0))
    return (low + (high - low) * _triangle(s, num_frames)).astype(np.float32)


def animation_values(mode, start, means_j, num_frames=40) -> np.ndarray:
    """Values of one latent over the frames of an animated traversal: [num_frames].

    Args:
      mode: one of ANIMATION_MODES:
        std_gaussian_cycle     quantiles of N(0, 1);
        fitted_gaussian_cycle  quantiles of N(m, s²), m and s the mean and std of the posterior means;
        fixed_interval_cycle   the interval [-2, 2];
        conf_interval_cycle    [m - 2s, m + 2s] (about 95% of the fitted Gaussian);
        minmax_interval_cycle  [min, max] of the posterior means.
      start: the latent's value in the base code (the cycle starts and ends there).
      means_j: posterior means of this latent over a batch [n] (used by the fitted modes).
    """
    means_j = np.asarray(means_j, np.float64)
    m, s = float(np.mean(means_j)), float(np.std(means_j))
    s = max(s, 1e-6)
    if mode == "std_gaussian_cycle":
        return cycle_gaussian(start, num_frames)
    if mode == "fitted_gaussian_cycle":
        return cycle_gaussian(start, num_frames, loc=m, scale=s)
    if mode == "fixed_interval_cycle":
        return cycle_interval(start, num_frames, -2.0, 2.0)
    if mode == "conf_interval_cycle":
        return cycle_interval(start, num_frames, m - 2 * s, m + 2 * s)
    if mode == "minmax_interval_cycle":
        low, high = float(np.min(means_j)), float(np.max(means_j))
        if high <= low:  # every mean equal: the interval is a point, the latent stays there
            return np.full(num_frames, low, np.float32)
        return cycle_interval(start, num_frames, low, high)
    raise ValueError(f"unknown animation mode {mode!r}; choose one of {', '.join(ANIMATION_MODES)}")


# ---------------------------------------------------------------------- factor heat maps
def factor_grid_classes(factor_sizes, factors, others, rng) -> tuple[np.ndarray, np.ndarray]:
    """Factor classes to encode for a heat map over two factors, averaged over the others.

    Args:
      factor_sizes: K class counts.
      factors: the two factor positions (a, b) spanning the heat map.
      others: number of settings of the remaining factors per cell, drawn once with `rng` and shared
        by every cell (so cells differ only in factors a and b).
      rng: np.random.Generator.
    Returns:
      classes: int64 [n_a * n_b * others, K], row-major over (a class, b class, draw).
      cells: int64 [n_a * n_b * others, 2], the (a class, b class) of each row.
    """
    sizes = np.asarray(factor_sizes, np.int64)
    a, b = (int(f) for f in factors)
    if a == b:
        raise ValueError("a heat map needs two different factors")
    n_a, n_b = int(sizes[a]), int(sizes[b])
    draws = np.stack([rng.integers(size, size=int(others)) for size in sizes], axis=1)
    classes = np.broadcast_to(draws, (n_a, n_b, int(others), len(sizes))).copy()
    ia, ib = np.meshgrid(np.arange(n_a), np.arange(n_b), indexing="ij")
    classes[..., a] = ia[..., None]
    classes[..., b] = ib[..., None]
    cells = np.stack([np.broadcast_to(ia[..., None], classes.shape[:3]),
                      np.broadcast_to(ib[..., None], classes.shape[:3])], axis=-1)
    return classes.reshape(-1, len(sizes)), cells.reshape(-1, 2)


def cell_means(values, cells, shape) -> np.ndarray:
    """Mean of `values` [n, D] over the rows of each cell: [D, shape[0], shape[1]].

    cells: int [n, 2] cell of each row. A cell with no row is NaN.
    """
    values = np.asarray(values, np.float64)
    cells = np.asarray(cells, np.int64)
    flat = np.ravel_multi_index(cells.T, shape)
    size = int(np.prod(shape))
    counts = np.bincount(flat, minlength=size).astype(np.float64)
    sums = np.stack([np.bincount(flat, weights=values[:, d], minlength=size)
                     for d in range(values.shape[1])])
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return means.reshape(values.shape[1], *shape)
