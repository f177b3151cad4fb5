"""dSprites (Matthey et al. 2017) without a download: a vectorised renderer of the exact factor grid.

The grid (SPEC §3) is the full product, row-major in this order:

    color 1 (white) · shape 3 (square, ellipse, heart = 1, 2, 3) · scale linspace(0.5, 1, 6)
    · orientation linspace(0, 2π, 40) · posX linspace(0, 1, 32) · posY linspace(0, 1, 32)

737,280 binary 64×64 images, white (1) shape on black (0). Color is constant, so the ground-truth factors
exposed to metrics are the other five (as in disentanglement_lib); the file format keeps all six columns.

Geometry: the real data set's, as measured on its images (docs/data.md has the figures). In pixel units,
with pixel (row i, column j) centred at (x, y) = (j + 0.5, i + 0.5) and y growing downward:
- The sprite centre is at 16 + 32·pos px, posX along the columns and posY down the rows: it travels over
  [16, 48], and no sprite touches the border.
- square: side 19.2·scale; ellipse: semi-axes 12.75·scale (horizontal at orientation 0) and 7.2·scale;
  heart (drawn with y up): two elliptic lobes centred at (±4.76, 0)·scale with radii (4.83, 5.41)·scale
  (x, y), joined by their outer tangent lines to a tip at (0, −12.71)·scale; lobes up at orientation 0.
  The heart's bounding box is centred on the sprite centre and then moved up by 0.26·scale.
- Orientation θ turns the shape counter-clockwise on screen about the sprite centre. θ is reduced mod 2π,
  so θ = 2π draws exactly the θ = 0 image (the data set's first and last orientations coincide too).
- A pixel is white iff its centre lies inside the shape (boundary included); no anti-aliasing.

Files (all under data_dir, default ~/.cache/tfdisvae or $TFDISVAE_DATA):
- the original DeepMind file `dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz` (top-level `imgs`,
  `latents_values`, `latents_classes`) or the `.hdf5` that TFDS reads (`imgs`, `latents/classes`,
  `latents/values`), in data_dir or data_dir/dsprites/: used when present, never modified; a bit-packed
  copy is derived from it into data_dir/dsprites/from-original-<grid>/.
- otherwise the rendered cache data_dir/dsprites/rendered-v<version>-<grid>/: `imgs.npy` (bit-packed along the
  last axis, [N, 64, 8] uint8, read memory-mapped), `latents_values.npy` (float64 [N, 6]),
  `latents_classes.npy` (int64 [N, 6]) and a manifest of sha256 checksums.

Command line:

    python -m tfdisvae.data.dsprites --render [--data_dir DIR]    # build (or verify) the rendered cache
    python -m tfdisvae.data.dsprites --write_npz PATH [--data_dir DIR]   # the original single-file format
"""

from __future__ import annotations

import logging
import os
import time
import zipfile

import numpy as np

from tfdisvae.data import cache as cache_lib
from tfdisvae.data.ground_truth import GroundTruthData, PackedBinaryImages, RenderedImages
from tfdisvae.data.public_files import _find, _read_npy_header

log = logging.getLogger("tfdisvae.data")

FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES = (3, 6, 40, 32, 32)
LATENT_NAMES = ("color",) + FACTOR_NAMES  # the six columns of latents_values / latents_classes
NUM_EXAMPLES = 737_280
IMAGE_SIZE = 64
SHAPES = ("square", "ellipse", "heart")
ORIGINAL_FILES = ("dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
                  "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5")
RENDERER_VERSION = 2  # 2: the real data set's geometry (1: our own, smaller sprites)

# The geometry (module docstring), in px at scale 1; measured on the real data set's images.
POSITION_OFFSET = 16.0  # sprite centre at pos = 0
POSITION_SPAN = 32.0  # centre travel from pos = 0 to pos = 1
SQUARE_HALF_SIDE = 9.6
ELLIPSE_SEMI_AXES = (12.75, 7.2)  # (x, y) at orientation 0
HEART_LOBE_CENTRE_X = 4.76  # lobes at (±4.76, 0)
HEART_LOBE_RADII = (4.83, 5.41)  # (x, y)
HEART_TIP_Y = -12.71  # tip at (0, -12.71), y up
HEART_RAISE = 0.26  # the bounding box's centre sits this far above the sprite centre
_WINDOW = 30  # px, side of the square window around the centre that can hold sprite pixels


def _heart_pentagon() -> np.ndarray:
    """[5, 2] corners (counter-clockwise, y up, heart frame) of the convex part between lobes and tip.

    The heart is the union of its two lobes and this pentagon: tip, the right lobe's outer tangent
    point seen from the tip, the two lobe centres, the left tangent point.
    """
    (a, b), cx, tip = HEART_LOBE_RADII, HEART_LOBE_CENTRE_X, HEART_TIP_Y
    # In the right lobe's unit-circle frame, the tangents from P touch at angle(P) ± arccos(1/|P|).
    px, py = -cx / a, tip / b
    angle = np.arctan2(py, px) + np.arccos(1 / np.hypot(px, py))  # + : the outer (right) tangent
    tx, ty = cx + a * np.cos(angle), b * np.sin(angle)
    return np.array([[0.0, tip], [tx, ty], [cx, 0.0], [-cx, 0.0], [-tx, ty]])


_HEART_PENTAGON = _heart_pentagon()
# Heart frame → sprite frame: the bounding box (x ±(cx + a), y from the tip to the lobes' tops) is
# centred on the sprite centre, then raised.
_HEART_SHIFT = HEART_RAISE - (HEART_LOBE_RADII[1] + HEART_TIP_Y) / 2

def factor_values(factor_sizes=FACTOR_SIZES) -> list[np.ndarray]:
    """The value of every class of each of the five factors (float64), as in the original file.

    With a smaller `factor_sizes` (tests), the same ranges are sampled more coarsely.
    """
    n_shape, n_scale, n_orient, n_x, n_y = _check_sizes(factor_sizes)
    return [np.arange(1, n_shape + 1, dtype=np.float64),
            np.linspace(0.5, 1.0, n_scale),
            np.linspace(0.0, 2 * np.pi, n_orient),
            np.linspace(0.0, 1.0, n_x),
            np.linspace(0.0, 1.0, n_y)]


def factors_to_values(factor_classes, factor_sizes=FACTOR_SIZES) -> np.ndarray:
    """Class indices [n, 5] → factor values [n, 5] float64 (shape 1..3, scale, radians, pos in [0, 1])."""
    classes = _check_classes(factor_classes, factor_sizes)
    values = factor_values(factor_sizes)
    return np.stack([values[k][classes[:, k]] for k in range(5)], axis=1)


def _check_sizes(factor_sizes) -> tuple[int, ...]:
    sizes = tuple(int(s) for s in factor_sizes)
    if len(sizes) != 5 or sizes[0] > 3 or min(sizes) < 1:
        raise ValueError(f"dSprites factor_sizes must be 5 positive sizes (shape ≤ 3, scale, orientation, "
                         f"posX, posY), got {factor_sizes}; the full grid is {FACTOR_SIZES}")
    return sizes


def _check_classes(factor_classes, factor_sizes) -> np.ndarray:
    classes = np.asarray(factor_classes)
    if classes.ndim == 1:
        classes = classes[None]
    if classes.ndim != 2 or classes.shape[1] not in (5, 6):
        raise ValueError(f"factor classes must have shape [n, 5] ({', '.join(FACTOR_NAMES)}) or [n, 6] "
                         f"(with the constant color first, as latents_classes), got {classes.shape}")
    if not np.issubdtype(classes.dtype, np.integer):
        raise TypeError(f"factor classes must be integer class indices, got dtype {classes.dtype}")
    if classes.shape[1] == 6:
        if np.any(classes[:, 0] != 0):
            raise ValueError("the color column of [n, 6] factor classes must be 0 (one color)")
        classes = classes[:, 1:]
    sizes = np.asarray(_check_sizes(factor_sizes))
    bad = (classes < 0) | (classes >= sizes)
    if bad.any():
        row, k = np.argwhere(bad)[0]
        raise ValueError(f"factor {FACTOR_NAMES[k]} class {classes[row, k]} (row {row}) is outside "
                         f"0..{sizes[k] - 1}")
    return classes.astype(np.int64)


def _inside(shape_index: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Point-in-shape test at scale 1; u, v: [n, W, W] px from the sprite centre (v up), shape_index: [n]."""
    out = np.empty(u.shape, dtype=bool)
    for s in range(3):
        rows = np.flatnonzero(shape_index == s)
        if rows.size == 0:
            continue
        us, vs = u[rows], v[rows]
        if s == 0:
            out[rows] = (np.abs(us) <= SQUARE_HALF_SIDE) & (np.abs(vs) <= SQUARE_HALF_SIDE)
        elif s == 1:
            a, b = ELLIPSE_SEMI_AXES
            out[rows] = (us / a) ** 2 + (vs / b) ** 2 <= 1
        else:
            out[rows] = _inside_heart(us, vs - _HEART_SHIFT)
    return out


def _inside_heart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Point-in-heart test in the heart frame (lobe centres on y = 0, tip below)."""
    (a, b), cx = HEART_LOBE_RADII, HEART_LOBE_CENTRE_X
    inside = ((np.abs(x) - cx) / a) ** 2 + (y / b) ** 2 <= 1  # either lobe (the heart is symmetric)
    corners = _HEART_PENTAGON
    in_pentagon = np.ones(x.shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(corners, np.roll(corners, -1, axis=0), strict=True):
        in_pentagon &= (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0) >= 0  # left of every edge
    return inside | in_pentagon

def render(factor_classes, factor_sizes=FACTOR_SIZES) -> np.ndarray:
    """Renders the dSprites images of the given grid points.

    Args:
      factor_classes: int class indices [n, 5] (shape, scale, orientation, posX, posY), or [5], or
        [n, 6] with the constant color column first (the file's latents_classes).
      factor_sizes: the grid; the full dSprites grid by default.
    Returns:
      uint8 [n, 64, 64], 1 inside the shape, 0 outside.
    """
    classes = _check_classes(factor_classes, factor_sizes)
    values = factor_values(factor_sizes)
    n = len(classes)
    images = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    for start in range(0, n, 4096):
        chunk = classes[start:start + 4096]
        images[start:start + len(chunk)] = _render_chunk(
            chunk[:, 0], values[1][chunk[:, 1]], values[2][chunk[:, 2]],
            values[3][chunk[:, 3]], values[4][chunk[:, 4]])
    return images


def _render_chunk(shape_index, scale, orientation, pos_x, pos_y) -> np.ndarray:
    n = len(shape_index)
    centre_x = POSITION_OFFSET + POSITION_SPAN * pos_x  # [n] px
    centre_y = POSITION_OFFSET + POSITION_SPAN * pos_y
    # Every sprite pixel lies within 13.6 px of the centre (the square's corner at scale 1), so
    # within the _WINDOW x _WINDOW pixels from floor(centre) - 14; at most columns 2..63.
    col0 = np.floor(centre_x).astype(np.int64) - _WINDOW // 2 + 1
    row0 = np.floor(centre_y).astype(np.int64) - _WINDOW // 2 + 1
    offsets = np.arange(_WINDOW)
    # Pixel centres relative to the sprite centre, in scale-1 px; y flipped so that v points up.
    dx = (col0[:, None] + offsets + 0.5 - centre_x[:, None]) / scale[:, None]
    dy = (centre_y[:, None] - (row0[:, None] + offsets + 0.5)) / scale[:, None]
    theta = np.mod(orientation, 2 * np.pi)  # 2π → exactly 0: first and last orientation coincide
    cos = np.cos(theta)[:, None, None]
    sin = np.sin(theta)[:, None, None]
    x, y = dx[:, None, :], dy[:, :, None]  # [n, 1, W] columns, [n, W, 1] rows
    u = cos * x + sin * y  # rotate the pixel by -θ: the shape turns by +θ
    v = cos * y - sin * x
    window = _inside(shape_index, u, v)
    images = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    flat = (np.arange(n)[:, None, None] * IMAGE_SIZE * IMAGE_SIZE
            + (row0[:, None, None] + offsets[None, :, None]) * IMAGE_SIZE
            + col0[:, None, None] + offsets[None, None, :])
    images.reshape(-1)[flat.reshape(-1)] = window.reshape(-1)
    return images

# --------------------------------------------------------------------------------------------------
# The grid and its file arrays


def grid_classes(factor_sizes=FACTOR_SIZES) -> np.ndarray:
    """int64 [N, 5] class indices of every grid point, row-major (index i ↔ row i)."""
    sizes = _check_sizes(factor_sizes)
    return np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), axis=1).astype(np.int64)


def latents_arrays(factor_sizes=FACTOR_SIZES) -> tuple[np.ndarray, np.ndarray]:
    """(latents_values float64 [N, 6], latents_classes int64 [N, 6]) as in the original file."""
    classes = grid_classes(factor_sizes)
    color = np.zeros((len(classes), 1), np.int64)
    values = np.concatenate([np.ones((len(classes), 1)), factors_to_values(classes, factor_sizes)], 1)
    return values, np.concatenate([color, classes], axis=1)


def _grid_tag(factor_sizes) -> str:
    return "x".join(str(s) for s in _check_sizes(factor_sizes))


def rendered_cache_dir(data_dir=None, factor_sizes=FACTOR_SIZES) -> str:
    """data_dir/dsprites/rendered-v<version>-<grid>: the rendered cache of a grid."""
    return os.path.join(cache_lib.default_data_dir(data_dir), "dsprites",
                        f"rendered-v{RENDERER_VERSION}-{_grid_tag(factor_sizes)}")


def _rendered_key(factor_sizes) -> dict:
    return {"renderer_version": RENDERER_VERSION, "factor_sizes": list(_check_sizes(factor_sizes)),
            "imgs": "packbits along the last axis"}


def build_cache(data_dir=None, factor_sizes=FACTOR_SIZES, chunk: int = 16_384) -> str:
    """Renders the grid into its cache folder unless a verified one is there; returns the folder.

    A cache that fails its checksum (truncated, corrupted, other renderer version) is re-rendered.
    Peak memory: about `chunk` unpacked images (64 MB at the default) beside the memory-mapped output.
    """
    sizes = _check_sizes(factor_sizes)
    folder = rendered_cache_dir(data_dir, sizes)
    key = _rendered_key(sizes)
    problem = cache_lib.verify(folder, key)
    if problem is None:
        return folder
    if os.path.exists(folder):
        log.warning("dSprites cache not usable (%s): rendering it again", problem)
    for version in range(1, RENDERER_VERSION):
        stale = folder.replace(f"rendered-v{RENDERER_VERSION}-", f"rendered-v{version}-")
        if os.path.isdir(stale):
            log.warning("the dSprites cache %s of an older renderer is no longer used; delete it to free "
                        "its space", stale)
    values, classes = latents_arrays(sizes)
    n = len(classes)
    log.warning("rendering the dSprites grid %s (%d images) into %s", sizes, n, folder)
    start_time = time.perf_counter()
    with cache_lib.CacheWriter(folder, key) as writer:
        imgs = writer.open_memmap("imgs.npy", np.uint8, (n, IMAGE_SIZE, IMAGE_SIZE // 8))
        for start in range(0, n, chunk):
            imgs[start:start + chunk] = np.packbits(render(classes[start:start + chunk, 1:], sizes),
                                                    axis=-1)
        writer.save("latents_values.npy", values)
        writer.save("latents_classes.npy", classes)
    log.warning("rendered %d dSprites images in %.1f s", n, time.perf_counter() - start_time)
    return folder


# --------------------------------------------------------------------------------------------------
# The original DeepMind file (npz or hdf5): read, never modified


def find_original(data_dir=None) -> str | None:
    """Path of an original dSprites file in data_dir or data_dir/dsprites, or None."""
    return _find(cache_lib.default_data_dir(data_dir),
                 [*ORIGINAL_FILES, *(os.path.join("dsprites", name) for name in ORIGINAL_FILES)])


def _npz_member(archive: zipfile.ZipFile, key: str):
    """(open file positioned at the data, shape, dtype) of array `key` in an npz, without loading it."""
    name = key + ".npy"
    if name not in archive.namelist():
        raise ValueError(f"{archive.filename} has no array {key!r} (it holds "
                         f"{', '.join(n[:-4] for n in archive.namelist())}); is it the dSprites npz?")
    f = archive.open(name)
    shape, fortran, dtype = _read_npy_header(f)
    if fortran:
        raise ValueError(f"{archive.filename}:{key} is stored in Fortran order; expected C order")
    return f, shape, dtype


def _read_original(path: str, chunk: int, factor_sizes=FACTOR_SIZES):
    """(latents_values, latents_classes, iterator of uint8 image chunks [c, 64, 64]) of an original file."""
    if path.endswith(".npz"):
        archive = zipfile.ZipFile(path)
        values = np.load(archive.open("latents_values.npy"), allow_pickle=False) \
            if "latents_values.npy" in archive.namelist() else None
        classes = np.load(archive.open("latents_classes.npy"), allow_pickle=False) \
            if "latents_classes.npy" in archive.namelist() else None
        f, shape, dtype = _npz_member(archive, "imgs")
        _check_original(path, shape, values, classes, factor_sizes)

        def chunks():
            per_image = int(np.prod(shape[1:])) * dtype.itemsize
            with archive, f:
                for start in range(0, shape[0], chunk):
                    count = min(chunk, shape[0] - start)
                    data = f.read(count * per_image)
                    if len(data) != count * per_image:
                        raise ValueError(f"{path}: imgs ends early at image {start} (truncated file?)")
                    yield np.frombuffer(data, dtype).reshape((count, *shape[1:])).astype(np.uint8)

        return values, classes, chunks()
    import h5py

    h5 = h5py.File(path, "r")
    try:
        values = np.asarray(h5["latents/values"])
        classes = np.asarray(h5["latents/classes"])
        imgs = h5["imgs"]
    except KeyError as err:
        h5.close()
        raise ValueError(f"{path} lacks {err}; the dSprites hdf5 holds imgs, latents/classes and "
                         f"latents/values") from None
    _check_original(path, imgs.shape, values, classes, factor_sizes)

    def h5_chunks():
        with h5:
            for start in range(0, imgs.shape[0], chunk):
                yield np.asarray(imgs[start:start + chunk], np.uint8)

    return values, classes, h5_chunks()


def _check_original(path, shape, values, classes, factor_sizes=FACTOR_SIZES) -> None:
    grid = grid_classes(factor_sizes)
    expected = (len(grid), IMAGE_SIZE, IMAGE_SIZE)
    if tuple(shape) != expected:
        raise ValueError(f"{path}: imgs has shape {tuple(shape)}, dSprites has {expected}")
    if classes is None or values is None:
        raise ValueError(f"{path} lacks latents_values / latents_classes; is it the dSprites file?")
    if classes.shape != (len(grid), 6) or not np.array_equal(classes[:, 1:], grid):
        raise ValueError(f"{path}: latents_classes is not the row-major dSprites grid; the file "
                         f"is not the original (or is damaged)")


def _original_key(path: str) -> dict:
    stat = os.stat(path)
    return {"original": os.path.abspath(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "imgs": "packbits along the last axis"}


def derive_from_original(path: str, data_dir=None, factor_sizes=FACTOR_SIZES,
                         chunk: int = 16_384) -> str:
    """A bit-packed cache (same layout as the rendered one) read from an original file; returns it.

    The original is only read. The cache is remade when the original's size or mtime changes.
    """
    sizes = _check_sizes(factor_sizes)
    folder = os.path.join(cache_lib.default_data_dir(data_dir), "dsprites",
                          f"from-original-{_grid_tag(sizes)}")
    key = _original_key(path)
    if cache_lib.verify(folder, key) is None:
        return folder
    log.warning("reading the original dSprites file %s into %s", path, folder)
    values, classes, chunks = _read_original(path, chunk, sizes)
    with cache_lib.CacheWriter(folder, key) as writer:
        imgs = writer.open_memmap("imgs.npy", np.uint8, (len(classes), IMAGE_SIZE, IMAGE_SIZE // 8))
        start = 0
        for block in chunks:
            imgs[start:start + len(block)] = np.packbits(block, axis=-1)
            start += len(block)
        writer.save("latents_values.npy", np.asarray(values, np.float64))
        writer.save("latents_classes.npy", np.asarray(classes, np.int64))
    return folder


# --------------------------------------------------------------------------------------------------
# Loading


def load_dsprites(data_dir=None, source: str = "auto", factor_sizes=FACTOR_SIZES):
    """dSprites as a `DSpritesData` (a GroundTruthData).

    Args:
      data_dir: data folder (default $TFDISVAE_DATA or ~/.cache/tfdisvae).
      source: "auto" (the original file if present in data_dir, else the rendered cache, rendered now
        if missing or damaged), "original" (the original file, an error if absent), "cache" (the
        rendered cache) or "render" (each `images(indices)` call renders just those images: no file).
      factor_sizes: a smaller grid for tests (rendered sources only).
    """
    sizes = _check_sizes(factor_sizes)
    if source not in ("auto", "original", "cache", "render"):
        raise ValueError(f"source must be 'auto', 'original', 'cache' or 'render', got {source!r}")
    if source == "render":
        return DSpritesData(_on_demand_source(sizes), sizes, "render")
    # A smaller grid (tests) uses an original-format file only when asked to (source="original").
    original = find_original(data_dir) if sizes == FACTOR_SIZES or source == "original" else None
    if source == "original" and original is None:
        raise FileNotFoundError(
            f"no original dSprites file ({' or '.join(ORIGINAL_FILES)}) in "
            f"{cache_lib.default_data_dir(data_dir)} or its dsprites/ folder; copy it there, or use "
            f"source='auto' to render the grid")
    if source in ("auto", "original") and original is not None:
        folder, origin = derive_from_original(original, data_dir, sizes), original
    else:
        folder, origin = build_cache(data_dir, sizes), "rendered"
    packed = np.load(os.path.join(folder, "imgs.npy"), mmap_mode="r")
    return DSpritesData(PackedBinaryImages(packed, IMAGE_SIZE), sizes, origin)


def _on_demand_source(sizes):
    def render_indices(idx):
        classes = np.stack(np.unravel_index(idx, sizes), axis=1)
        return render(classes, sizes)[..., None]

    return RenderedImages(render_indices, (IMAGE_SIZE, IMAGE_SIZE, 1), int(np.prod(sizes)),
                          max_value=1)


class DSpritesData(GroundTruthData):
    """dSprites: 5 factors (color, constant, is left out), binary images uint8 0/1 [n, 64, 64, 1].

    `origin` says where the images come from: "render" (on demand), "rendered" (the cache) or the
    path of the original file.
    """

    def __init__(self, source, factor_sizes=FACTOR_SIZES, origin="render"):
        super().__init__("dsprites", FACTOR_NAMES, factor_sizes, source,
                         factor_values=factor_values(factor_sizes))
        self.origin = origin

    def latents_values(self, indices) -> np.ndarray:
        """float64 [n, 6] (color, shape, scale, orientation, posX, posY), as in the file."""
        values = self.factors_to_values(self.factors(indices))
        return np.concatenate([np.ones((len(values), 1)), values], axis=1)

    def latents_classes(self, indices) -> np.ndarray:
        """int64 [n, 6] with the constant color class 0 first, as in the file."""
        classes = self.factors(indices)
        return np.concatenate([np.zeros((len(classes), 1), np.int64), classes], axis=1)


# --------------------------------------------------------------------------------------------------
# The single-file original format


def write_npz(path: str, data_dir=None, source: str = "auto", factor_sizes=FACTOR_SIZES,
              chunk: int = 16_384) -> str:
    """Writes dSprites in the original single-file npz format (`imgs` uint8 0/1 [N, 64, 64],
    `latents_values` float64 [N, 6], `latents_classes` int64 [N, 6]), deflate-compressed.

    The images are streamed from the cache chunk by chunk, so the 3 GB `imgs` array is never in memory.
    The file is written under a temporary name and renamed when complete. Returns `path`.
    """
    data = load_dsprites(data_dir, source, factor_sizes)
    n = data.num_examples
    indices = np.arange(n)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            with archive.open("imgs.npy", "w", force_zip64=True) as f:
                header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)),
                          "fortran_order": False, "shape": (n, IMAGE_SIZE, IMAGE_SIZE)}
                np.lib.format.write_array_header_1_0(f, header)
                for start in range(0, n, chunk):
                    f.write(np.ascontiguousarray(data.images(indices[start:start + chunk])[..., 0])
                            .tobytes())
            for key, array in (("latents_values", data.latents_values(indices)),
                               ("latents_classes", data.latents_classes(indices))):
                with archive.open(key + ".npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, array, allow_pickle=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


if __name__ == "__main__":  # the command: tfdisvae.cli.dsprites
    from tfdisvae.cli.dsprites import run

    run()
