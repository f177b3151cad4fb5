"""Ground-truth sets read from the files their authors publish: MPI3D, Cars3D, and shapes3d's 3dshapes.h5.

Nothing is downloaded. Each loader looks in the folder the user points at (data_dir, default
$TFDISVAE_DATA or ~/.cache/tfdisvae); a missing set raises DatasetNotPreparedError with one line that says
what to fetch, from where, and where to put it, as the TFDS sets do. A damaged file (not the format,
wrong shapes, truncated) raises ValueError naming the file and the fix.

| name | file(s) under data_dir | factors (classes), grid order | images |
|---|---|---|---|
| mpi3d_toy, mpi3d_realistic, mpi3d_real | NAME.npz or NAME/NAME.npz, key `images` | object_color 6, object_shape 6, object_size 2, camera_height 3, background_color 3, horizontal_axis 40, vertical_axis 40 | 1,036,800 × 64×64×3 |
| cars3d | cars/*_mesh.mat or data/cars/*_mesh.mat (183 files, key `im`) | elevation 4, azimuth 24, object 183 | 17,568 × 64×64×3 (resized from 128) |
| shapes3d (source "file") | 3dshapes.h5 or 3dshapes/3dshapes.h5 (`images`, `labels`) | floor_hue 10, wall_hue 10, object_hue 10, scale 8, shape 4, orientation 15 | 480,000 × 64×64×3 |

Image i is grid point i in row-major order of the factors as listed (the order the files store them).
Every loader takes `factor_sizes=` for a smaller grid (tests). Large arrays are memory-mapped where the
file allows it (an uncompressed npz member, a contiguous HDF5 dataset); otherwise they are converted once
into a checksummed .npy cache beside the file's folder (data_dir/NAME-cache/).
"""

from __future__ import annotations

import logging
import math
import os
import struct
import zipfile

import numpy as np

from tfdisvae.data import cache as cache_lib
from tfdisvae.data.ground_truth import ArrayImages, GroundTruthData
from tfdisvae.data.tfds_data import DatasetNotPreparedError

log = logging.getLogger("tfdisvae.data")


class DataFileError(ValueError):
    """A data file is there but unreadable or not what it should be (the message names it and the fix)."""

MPI3D_SETS = ("mpi3d_toy", "mpi3d_realistic", "mpi3d_real")
# Factor names, sizes and class meanings of the public files (rr-learning/disentanglement_dataset README).
# disentanglement_lib's mpi3d.py still says 4, 4 for the first two factors of toy and realistic: that is
# the 460,800-image competition release; the published files hold 6 colours and 6 shapes.
MPI3D_FACTOR_NAMES = ("object_color", "object_shape", "object_size", "camera_height",
                      "background_color", "horizontal_axis", "vertical_axis")
MPI3D_FACTOR_SIZES = (6, 6, 2, 3, 3, 40, 40)
MPI3D_URL = "https://huggingface.co/datasets/waleedgondal/mpi3d/resolve/main/{name}.npz"

# Cars3D (Reed et al. 2015, "Deep Visual Analogy-Making"), as disentanglement_lib's cars3d.py reads it.
CARS3D_FACTOR_NAMES = ("elevation", "azimuth", "object")
CARS3D_FACTOR_SIZES = (4, 24, 183)
CARS3D_URL = "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz"
CARS3D_IMAGE_SIZE = 64

SHAPES3D_FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
SHAPES3D_FACTOR_SIZES = (10, 10, 10, 8, 4, 15)
SHAPES3D_FILE = "3dshapes.h5"
SHAPES3D_URL = "https://storage.googleapis.com/3d-shapes/3dshapes.h5"


def _check_sizes(name: str, factor_sizes, published) -> tuple[int, ...]:
    sizes = tuple(int(s) for s in factor_sizes)
    if len(sizes) != len(published) or min(sizes) < 1:
        raise ValueError(f"{name} factor_sizes must be {len(published)} positive sizes, got "
                         f"{factor_sizes}; the published grid is {published}")
    return sizes


def _find(root: str, candidates) -> str | None:
    for relative in candidates:
        path = os.path.join(root, relative)
        if os.path.exists(path):
            return path
    return None


def _file_key(paths) -> dict:
    """What a derived cache was made from: each source file's absolute path, size and mtime."""
    entries = []
    for path in paths:
        stat = os.stat(path)
        entries.append([os.path.abspath(path), stat.st_size, stat.st_mtime_ns])
    return {"files": entries}


# --------------------------------------------------------------------------------------------------
# npz members without loading them


def _npz_array(path: str, key: str, what: str):
    """(memory-mapped array, None) of an uncompressed npz member, or (None, (zip member opener, shape,
    dtype)) of a compressed one. Raises ValueError when the file is not an npz holding `key`."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise DataFileError(f"{path} is not a readable .npz ({err}); the download is probably truncated: "
                         f"fetch {what} again") from None
    with archive:
        member = key + ".npy"
        if member not in archive.namelist():
            held = ", ".join(n[:-4] for n in archive.namelist()) or "nothing"
            raise DataFileError(f"{path} has no array {key!r} (it holds {held}); is it {what}?")
        info = archive.getinfo(member)
        with archive.open(member) as f:
            shape, fortran, dtype = _read_npy_header(f)
            header_bytes = f.tell()
    if fortran:
        raise DataFileError(f"{path}:{key} is stored in Fortran order; expected C order")
    nbytes = math.prod(shape) * dtype.itemsize
    if info.file_size < header_bytes + nbytes:
        raise DataFileError(f"{path}:{key} holds {info.file_size - header_bytes} bytes of data, its "
                         f"header announces {nbytes} (truncated file?): fetch {what} again")
    if info.compress_type == zipfile.ZIP_STORED:
        with open(path, "rb") as raw:  # the member's data follow its local header
            raw.seek(info.header_offset)
            local = raw.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise DataFileError(f"{path}: damaged zip header of {member}: fetch {what} again")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        offset = info.header_offset + 30 + name_len + extra_len + header_bytes
        if offset + nbytes > os.path.getsize(path):
            raise DataFileError(f"{path} ends before the data of {key!r} (truncated file?): fetch {what} "
                             f"again")
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=tuple(shape)), None

    def open_member():
        archive = zipfile.ZipFile(path)
        f = archive.open(member)
        _read_npy_header(f)
        return archive, f

    return None, (open_member, tuple(shape), dtype)


def _read_npy_header(f):
    """(shape, fortran_order, dtype) of the .npy stream `f`, left positioned at its data."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    return np.lib.format.read_array_header_2_0(f)


def _stream_npz_to_cache(path, open_member, shape, dtype, folder, what, chunk_bytes=1 << 28):
    """Decompresses an npz member chunk by chunk into folder/images.npy (a checksummed cache)."""
    key = _file_key([path])
    if cache_lib.verify(folder, key) is None:
        return
    log.warning("decompressing %s into %s (once)", path, folder)
    per_row = math.prod(shape[1:]) * dtype.itemsize
    rows_per_chunk = max(1, chunk_bytes // per_row)
    with cache_lib.CacheWriter(folder, key) as writer:
        out = writer.open_memmap("images.npy", dtype, shape)
        archive, f = open_member()
        with archive, f:
            for start in range(0, shape[0], rows_per_chunk):
                count = min(rows_per_chunk, shape[0] - start)
                data = f.read(count * per_row)
                if len(data) != count * per_row:
                    raise DataFileError(f"{path}: the images end early at row {start} (truncated "
                                     f"file?): fetch {what} again")
                out[start:start + count] = np.frombuffer(data, dtype).reshape((count, *shape[1:]))


def _check_images(shape, dtype, count: int, path: str, what: str) -> None:
    """Images must be uint8 [count, 64, 64, 3], stored flat or with the grid's leading axes."""
    shape = tuple(shape)
    if dtype != np.uint8 or shape[-3:] != (64, 64, 3) or math.prod(shape[:-3]) != count:
        raise DataFileError(f"{path}: images are {dtype} {shape}, {what} holds uint8 "
                         f"[{count}, 64, 64, 3]; is it the right file (or the right factor_sizes)?")


# --------------------------------------------------------------------------------------------------
# MPI3D


def load_mpi3d(name: str = "mpi3d_toy", data_dir=None, factor_sizes=MPI3D_FACTOR_SIZES):
    """MPI3D (Gondal et al. 2019) from its public npz: GroundTruthData, uint8 [n, 64, 64, 3].

    Args:
      name: mpi3d_toy, mpi3d_realistic or mpi3d_real.
      data_dir: folder holding NAME.npz (or NAME/NAME.npz, disentanglement_lib's layout).
      factor_sizes: a smaller grid (tests); the file must hold exactly that many images.
    """
    if name not in MPI3D_SETS:
        raise ValueError(f"unknown MPI3D set {name!r}; valid: {', '.join(MPI3D_SETS)}")
    sizes = _check_sizes(name, factor_sizes, MPI3D_FACTOR_SIZES)
    root = cache_lib.default_data_dir(data_dir)
    path = _find(root, [f"{name}.npz", os.path.join(name, f"{name}.npz")])
    url = MPI3D_URL.format(name=name)
    if path is None:
        raise DatasetNotPreparedError(
            f"data set {name!r} is not in {root}, and tfdisvae never downloads: fetch {url} and put "
            f"it at {os.path.join(root, name + '.npz')} (or pass --data_dir to its folder)")
    what = f"{name}.npz from {url}"
    count = math.prod(sizes)
    images, compressed = _npz_array(path, "images", what)
    if images is None:
        open_member, shape, dtype = compressed
        _check_images(shape, dtype, count, path, what)
        folder = os.path.join(root, f"{name}-cache")
        _stream_npz_to_cache(path, open_member, shape, dtype, folder, what)
        images = np.load(os.path.join(folder, "images.npy"), mmap_mode="r")
    _check_images(images.shape, images.dtype, count, path, what)
    images = images.reshape(count, 64, 64, 3)
    return GroundTruthData(name, MPI3D_FACTOR_NAMES, sizes, ArrayImages(images, max_value=255),
                           factor_values=[np.arange(s) for s in sizes])


# --------------------------------------------------------------------------------------------------
# Cars3D


def _cars3d_files(root: str, count: int):
    folder = _find(root, ["cars", os.path.join("data", "cars")])
    names = sorted(n for n in os.listdir(folder) if n.endswith(".mat")) if folder else []
    if not names:
        raise DatasetNotPreparedError(
            f"data set 'cars3d' is not in {root}, and tfdisvae never downloads: fetch {CARS3D_URL}, "
            f"unpack it and put its data/cars/ folder (the *_mesh.mat files) at "
            f"{os.path.join(root, 'cars')} (or pass --data_dir to the folder holding cars/)")
    if len(names) != count:
        raise DataFileError(f"{folder} holds {len(names)} .mat files, Cars3D has {count} (one per car); "
                         f"unpack {CARS3D_URL} again, or remove the extra files")
    return [os.path.join(folder, n) for n in names]


def _read_mesh(path: str, n_azimuth: int, n_elevation: int) -> np.ndarray:
    """uint8 [n_azimuth, n_elevation, 64, 64, 3] views of one car, resized with Lanczos."""
    import scipy.io
    from PIL import Image

    try:
        mesh = scipy.io.loadmat(path)["im"]
    except KeyError:
        raise DataFileError(f"{path} has no array 'im'; is it a Cars3D *_mesh.mat file?") from None
    except NotImplementedError:  # MATLAB v7.3 (HDF5): scipy cannot read it, nor could the original
        raise DataFileError(f"{path} is a MATLAB v7.3 file; the Cars3D files are MATLAB v5 (scipy.io."
                         f"loadmat): unpack {CARS3D_URL} again") from None
    except (scipy.io.matlab.MatReadError, ValueError, OSError, TypeError) as err:
        raise DataFileError(f"{path} is not a readable .mat file ({str(err).splitlines()[0][:120]}): "
                         f"unpack {CARS3D_URL} again") from None
    # im is [H, W, 3, azimuth, elevation] (disentanglement_lib's einsum "abcde->deabc" and the factor
    # rows it assigns: elevation varies fastest within a file).
    if mesh.ndim != 5 or mesh.shape[2] != 3 or mesh.shape[3:] != (n_azimuth, n_elevation) \
            or mesh.dtype != np.uint8:
        raise DataFileError(f"{path}: im is {mesh.dtype} {mesh.shape}, Cars3D holds uint8 "
                         f"[H, W, 3, {n_azimuth} azimuths, {n_elevation} elevations]")
    out = np.empty((n_azimuth, n_elevation, CARS3D_IMAGE_SIZE, CARS3D_IMAGE_SIZE, 3), np.uint8)
    size = (CARS3D_IMAGE_SIZE, CARS3D_IMAGE_SIZE)
    for a in range(n_azimuth):
        for e in range(n_elevation):
            view = Image.fromarray(np.ascontiguousarray(mesh[:, :, :, a, e]))
            # disentanglement_lib: thumbnail((64, 64), ANTIALIAS), which is a Lanczos resize of the
            # square 128 x 128 views.
            out[a, e] = np.asarray(view.resize(size, Image.LANCZOS) if view.size != size else view)
    return out


def load_cars3d(data_dir=None, factor_sizes=CARS3D_FACTOR_SIZES):
    """Cars3D from the *_mesh.mat files: GroundTruthData, uint8 [n, 64, 64, 3].

    Object k is the k-th file in name order (disentanglement_lib takes the folder's listing order, which
    the file system decides). The first load resizes every view to 64 × 64 (Lanczos) into the cache
    data_dir/cars3d-cache/ (216 MB); later loads memory-map it.
    """
    sizes = _check_sizes("cars3d", factor_sizes, CARS3D_FACTOR_SIZES)
    n_elevation, n_azimuth, n_object = sizes
    root = cache_lib.default_data_dir(data_dir)
    files = _cars3d_files(root, n_object)
    folder = os.path.join(root, "cars3d-cache")
    key = {**_file_key(files), "factor_sizes": list(sizes), "resize": "PIL lanczos 64"}
    if cache_lib.verify(folder, key) is not None:
        log.warning("reading %d Cars3D files into %s (once)", len(files), folder)
        with cache_lib.CacheWriter(folder, key) as writer:
            grid = writer.open_memmap("images.npy", np.uint8,
                                      (n_elevation, n_azimuth, n_object, 64, 64, 3))
            for k, path in enumerate(files):
                grid[:, :, k] = _read_mesh(path, n_azimuth, n_elevation).transpose(1, 0, 2, 3, 4)
    images = np.load(os.path.join(folder, "images.npy"), mmap_mode="r")
    images = images.reshape(math.prod(sizes), 64, 64, 3)
    return GroundTruthData("cars3d", CARS3D_FACTOR_NAMES, sizes, ArrayImages(images, max_value=255),
                           factor_values=[np.arange(s) for s in sizes])


# --------------------------------------------------------------------------------------------------
# shapes3d from 3dshapes.h5


def find_shapes3d(data_dir=None) -> str | None:
    """Path of 3dshapes.h5 in data_dir or data_dir/3dshapes, or None."""
    return _find(cache_lib.default_data_dir(data_dir),
                 [SHAPES3D_FILE, os.path.join("3dshapes", SHAPES3D_FILE)])


def _classes_of(labels: np.ndarray, sizes, path) -> tuple[np.ndarray, list[np.ndarray]]:
    """(int64 class indices [N, K], the K sorted value tables) of the label values."""
    classes = np.empty(labels.shape, np.int64)
    values = []
    for k, name in enumerate(SHAPES3D_FACTOR_NAMES):
        table, classes[:, k] = np.unique(labels[:, k], return_inverse=True)
        if len(table) != sizes[k]:
            raise DataFileError(f"{path}: labels column {k} ({name}) takes {len(table)} values, shapes3d "
                             f"has {sizes[k]}; is it the 3dshapes file (or the right factor_sizes)?")
        values.append(table)
    return classes, values


def load_shapes3d_file(data_dir=None, factor_sizes=SHAPES3D_FACTOR_SIZES, image_size: int | None = 64):
    """shapes3d (Burgess & Kim 2018) from DeepMind's 3dshapes.h5: GroundTruthData, uint8 [n, 64, 64, 3].

    Factor classes are the ranks of the label values in each column (hues 0..0.9, scale 0.75..1.25,
    shape 0..3, orientation -30..30); `factors_to_values` gives the values back. The file stores the grid
    row-major (orientation fastest); a file in another order still loads, each image keeping its labels.
    """
    import h5py

    if image_size not in (None, 64):
        raise ValueError(f"3dshapes.h5 holds 64 × 64 images, not {image_size}; for another size use "
                         f"source='tfds' (TFDS's shapes3d, resized)")
    sizes = _check_sizes("shapes3d", factor_sizes, SHAPES3D_FACTOR_SIZES)
    root = cache_lib.default_data_dir(data_dir)
    path = find_shapes3d(data_dir)
    if path is None:
        raise DatasetNotPreparedError(
            f"data set 'shapes3d' has no {SHAPES3D_FILE} in {root}, and tfdisvae never downloads: fetch "
            f"{SHAPES3D_URL} and put it at {os.path.join(root, SHAPES3D_FILE)} (or prepare the TFDS "
            f"set: tfds build shapes3d --data_dir {root})")
    what = f"{SHAPES3D_FILE} from {SHAPES3D_URL}"
    try:
        h5 = h5py.File(path, "r")
    except OSError as err:
        raise DataFileError(f"{path} is not a readable HDF5 file ({err}); the download is probably "
                         f"truncated: fetch {what} again") from None
    with h5:
        try:
            dataset, labels = h5["images"], np.asarray(h5["labels"], np.float64)
        except KeyError as err:
            raise DataFileError(f"{path} lacks {err}; 3dshapes.h5 holds images and labels") from None
        count = math.prod(sizes)
        if dataset.dtype != np.uint8 or dataset.shape != (count, 64, 64, 3) \
                or labels.shape != (count, 6):
            raise DataFileError(f"{path}: images {dataset.dtype} {dataset.shape}, labels {labels.shape}; "
                             f"shapes3d has uint8 [{count}, 64, 64, 3] and [{count}, 6]")
        offset = dataset.id.get_offset()
        in_place = dataset.chunks is None and dataset.compression is None and offset is not None
    if in_place:  # a contiguous, uncompressed dataset: read straight from the file
        images = np.memmap(path, np.uint8, "r", offset=offset, shape=(count, 64, 64, 3))
    else:
        folder = os.path.join(root, "3dshapes-cache")
        key = _file_key([path])
        if cache_lib.verify(folder, key) is not None:
            log.warning("copying the images of %s into %s (once)", path, folder)
            with cache_lib.CacheWriter(folder, key) as writer, h5py.File(path, "r") as h5:
                out = writer.open_memmap("images.npy", np.uint8, (count, 64, 64, 3))
                for start in range(0, count, 16_384):
                    out[start:start + 16_384] = h5["images"][start:start + 16_384]
        images = np.load(os.path.join(folder, "images.npy"), mmap_mode="r")
    classes, values = _classes_of(labels, sizes, path)
    row_major = np.array_equal(np.ravel_multi_index(classes.T, sizes), np.arange(count))
    return GroundTruthData("shapes3d", SHAPES3D_FACTOR_NAMES, sizes,
                           ArrayImages(images, max_value=255),
                           factors=None if row_major else classes, factor_values=values)
