"""Read PyTorch checkpoint files (``torch.save``) without torch and without running pickled code.

    state = read_torch_checkpoint("model.pt")     # e.g. OrderedDict {name: numpy.ndarray}

Both formats of ``torch.save`` are read:

- the zip format (torch >= 1.6): a zip archive with ``<prefix>/data.pkl`` (the pickle),
  ``<prefix>/data/<key>`` (one raw storage each) and, from torch 1.10 on, ``<prefix>/byteorder``
  ("little" or "big"; absent means little);
- the legacy format: five consecutive pickles and raw data in one file: the magic number
  0x1950a86a20f9469cfc6c, the protocol version (1001), a sys_info dict, the main pickle, the list of
  storage keys; then, for each key in that order, the storage's element count (int64, little-endian)
  and its bytes (little-endian).

The pickle is read by a restricted ``pickle.Unpickler`` whose ``find_class`` admits only what rebuilds
tensors and storages: ``torch._utils._rebuild_tensor_v2`` (and ``_rebuild_tensor``,
``_rebuild_parameter``, ``_rebuild_parameter_with_state``), the typed storage classes
``torch.<Type>Storage`` (as markers of a dtype, never called), ``torch.Size`` and
``collections.OrderedDict``. Any other global (a class of the saving program, ``os.system``, ...) raises
`UnsafeCheckpointError` naming it, before anything it names is imported. Storages come from
``persistent_load``. Tensors become numpy arrays of their size, stride and storage offset (copied, so
they own their memory); bfloat16 becomes float32 (exactly).
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001

# torch.<name>: numpy dtype of its elements ("bfloat16" is read as uint16 and widened to float32).
STORAGE_DTYPES = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "BFloat16Storage": "bfloat16",
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
    "UntypedStorage": np.dtype("u1"),
}
_REBUILD_FUNCTIONS = ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_parameter",
                      "_rebuild_parameter_with_state")


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The checkpoint's pickle names a global that does not rebuild a tensor or a storage."""


class CheckpointFormatError(ValueError):
    """The file is not a PyTorch checkpoint this reader understands (or it is damaged)."""


class _StorageType:
    """What find_class returns for torch.<Type>Storage: a dtype marker (calling it is refused)."""

    def __init__(self, name):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]

    def __repr__(self):
        return f"torch.{self.name}"

    def __call__(self, *args, **kwargs):
        raise UnsafeCheckpointError(f"the checkpoint's pickle calls torch.{self.name}; storages are "
                                    "only admitted as persistent ids")


class _Storage:
    """One storage: `numel` elements of `dtype`; `data` (a 1-D numpy array) is filled when read."""

    def __init__(self, key, storage_type, numel):
        self.key = key
        self.storage_type = storage_type
        self.numel = int(numel)
        self.data = None

    @property
    def itemsize(self):
        dtype = self.storage_type.dtype
        return 2 if dtype == "bfloat16" else dtype.itemsize

    def set_bytes(self, raw, byteorder="little"):
        expected = self.numel * self.itemsize
        if len(raw) != expected:
            raise CheckpointFormatError(
                f"storage {self.key!r} ({self.storage_type}) holds {len(raw)} bytes, expected "
                f"{expected} ({self.numel} elements of {self.itemsize} bytes)")
        dtype = self.storage_type.dtype
        if dtype == "bfloat16":
            bits = np.frombuffer(raw, np.dtype("<u2" if byteorder == "little" else ">u2"))
            data = (bits.astype(np.uint32) << 16).view(np.float32)
        else:
            if byteorder != "little":
                dtype = dtype.newbyteorder(">")
            data = np.frombuffer(raw, dtype).astype(dtype.newbyteorder("="), copy=True)
        self.data = data


class _StorageView:
    """A legacy view into a storage: `size` elements from element `offset`."""

    def __init__(self, base, offset, size):
        self.base, self.offset, self.size = base, int(offset), int(size)

    @property
    def storage_type(self):
        return self.base.storage_type

    @property
    def data(self):
        if self.base.data is None:
            return None
        return self.base.data[self.offset:self.offset + self.size]


class _PendingTensor:
    """A tensor whose storage is read after the pickle (legacy format); resolved by `_resolve`."""

    def __init__(self, storage, offset, size, stride):
        if not isinstance(storage, (_Storage, _StorageView)):
            raise UnsafeCheckpointError(
                f"a tensor is rebuilt from {type(storage).__name__!r}, not from a storage of the "
                "checkpoint; refusing the file")
        self.storage = storage
        self.offset = _as_int(offset, "storage offset")
        self.size = tuple(_as_int(s, "size") for s in size)
        self.stride = tuple(_as_int(s, "stride") for s in stride)
        if len(self.size) != len(self.stride):
            raise CheckpointFormatError(f"tensor with size {self.size} but stride {self.stride}")

    def to_numpy(self):
        data = self.storage.data
        if data is None:
            raise CheckpointFormatError(f"storage {getattr(self.storage, 'key', '?')!r} was never "
                                        "written in the file")
        if any(s < 0 for s in self.size) or any(s < 0 for s in self.stride) or self.offset < 0:
            raise CheckpointFormatError(f"negative size, stride or offset: size {self.size}, "
                                        f"stride {self.stride}, offset {self.offset}")
        if 0 in self.size:
            return np.zeros(self.size, data.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride, strict=True))
        if last >= data.size:
            raise CheckpointFormatError(
                f"tensor of size {self.size}, stride {self.stride} and offset {self.offset} reaches "
                f"element {last} of a storage of {data.size}")
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:], shape=self.size,
            strides=tuple(s * data.itemsize for s in self.stride), writeable=False)
        return np.array(view, copy=True)


def _as_int(value, what):
    if isinstance(value, bool) or not isinstance(value, int):
        raise CheckpointFormatError(f"tensor {what} is {value!r}, not an integer")
    return value


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _PendingTensor(storage, storage_offset, size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _PendingTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


def _rebuild_parameter_with_state(data, requires_grad=False, backward_hooks=None, state=None):
    return data


def _torch_size(sizes=()):
    return tuple(sizes)


_REBUILDERS = {"_rebuild_tensor": _rebuild_tensor, "_rebuild_tensor_v2": _rebuild_tensor_v2,
               "_rebuild_parameter": _rebuild_parameter,
               "_rebuild_parameter_with_state": _rebuild_parameter_with_state}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler of a checkpoint's pickle: only tensor/storage globals; storages from `storages`.

    storages: dict key -> _Storage, filled as persistent ids name them (a zip reader may pass
    `read_storage(key, storage_type, numel) -> bytes` to read each at once).
    """

    def __init__(self, file, *, read_storage=None, byteorder="little"):
        super().__init__(file)
        self.storages = {}
        self._read_storage = read_storage
        self._byteorder = byteorder

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in _REBUILD_FUNCTIONS:
            return _REBUILDERS[name]
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch" and name == "Size":
            return _torch_size
        raise UnsafeCheckpointError(
            f"refusing to load the checkpoint: its pickle names the global {module}.{name}, which does "
            "not rebuild a tensor or a storage (only torch._utils._rebuild_tensor_v2 and friends, "
            "torch.<Type>Storage, torch.Size and collections.OrderedDict are admitted; a file that "
            "pickles a whole model object or arbitrary code is not read)")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid:
            raise UnsafeCheckpointError(f"unexpected persistent id {pid!r} in the checkpoint")
        kind = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if kind != "storage":
            raise UnsafeCheckpointError(f"unexpected persistent id of kind {kind!r} (only "
                                        "'storage' is admitted)")
        if len(pid) == 5:        # zip format: (storage, type, key, location, numel)
            _, storage_type, key, _location, numel = pid
            view = None
        elif len(pid) == 6:      # legacy format: (..., numel, view_metadata)
            _, storage_type, key, _location, numel, view = pid
        else:
            raise CheckpointFormatError(f"storage persistent id of {len(pid)} fields: {pid!r}")
        if not isinstance(storage_type, _StorageType):
            raise UnsafeCheckpointError(f"storage of type {storage_type!r}, not a torch storage type")
        key = str(key)
        storage = self.storages.get(key)
        if storage is None:
            storage = _Storage(key, storage_type, _as_int(numel, "storage size"))
            if self._read_storage is not None:
                storage.set_bytes(self._read_storage(key), self._byteorder)
            self.storages[key] = storage
        if view is not None:     # (view_key, offset, view_size), element units (torch < 0.4 files)
            _view_key, offset, size = view
            return _StorageView(storage, _as_int(offset, "view offset"), _as_int(size, "view size"))
        return storage


def _resolve(obj):
    """obj with every _PendingTensor replaced by its numpy array (dict, list, tuple containers)."""
    if isinstance(obj, _PendingTensor):
        return obj.to_numpy()
    if isinstance(obj, dict):
        resolved = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        for key, value in obj.items():
            resolved[key] = _resolve(value)
        return resolved
    if isinstance(obj, list):
        return [_resolve(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_resolve(v) for v in obj)
    return obj


class _HeaderUnpickler(RestrictedUnpickler):
    """For the legacy header pickles, which hold plain values: no global at all."""

    what = "header"

    def find_class(self, module, name):
        raise UnsafeCheckpointError(f"refusing to load the checkpoint: its {self.what} names the "
                                    f"global {module}.{name}")


def _plain_pickle(f, what):
    """One legacy header pickle (magic number, protocol, sys_info, storage keys): plain values."""
    unpickler = _HeaderUnpickler(f)
    unpickler.what = what
    try:
        return unpickler.load()
    except UnsafeCheckpointError:
        raise
    except Exception as err:
        raise CheckpointFormatError(f"cannot read the {what} of a legacy PyTorch checkpoint: "
                                    f"{err}") from err


def _read_zip(path):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pickles:
            raise CheckpointFormatError(f"{path}: a zip file without <archive>/data.pkl is not a "
                                        "PyTorch checkpoint")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = "little"
        if prefix + "byteorder" in names:
            byteorder = archive.read(prefix + "byteorder").decode("ascii").strip()
            if byteorder not in ("little", "big"):
                raise CheckpointFormatError(f"{path}: byteorder record says {byteorder!r}")

        def read_storage(key):
            record = f"{prefix}data/{key}"
            if record not in names:
                raise CheckpointFormatError(f"{path}: storage {key!r} has no record {record}")
            return archive.read(record)

        unpickler = RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])),
                                        read_storage=read_storage, byteorder=byteorder)
        result = unpickler.load()
    return _resolve(result)


def _read_legacy(path):
    with open(path, "rb") as f:
        magic = _plain_pickle(f, "magic number")
        if magic != LEGACY_MAGIC_NUMBER:
            raise CheckpointFormatError(f"{path} is neither a zip nor a legacy PyTorch checkpoint "
                                        f"(magic number {magic!r})")
        protocol = _plain_pickle(f, "protocol version")
        if protocol != LEGACY_PROTOCOL_VERSION:
            raise CheckpointFormatError(f"{path}: legacy protocol version {protocol!r}, this reader "
                                        f"knows {LEGACY_PROTOCOL_VERSION}")
        sys_info = _plain_pickle(f, "sys_info")
        if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
            # Legacy files store storages little-endian whatever the writer (torch converts); the
            # flag only describes the writer, so nothing changes here.
            pass
        unpickler = RestrictedUnpickler(f)
        result = unpickler.load()
        keys = _plain_pickle(f, "storage key list")
        if not isinstance(keys, list):
            raise CheckpointFormatError(f"{path}: storage key list is a {type(keys).__name__}")
        for key in keys:
            storage = unpickler.storages.get(str(key))
            if storage is None:
                raise CheckpointFormatError(f"{path}: storage {key!r} is listed but no tensor uses it")
            header = f.read(8)
            if len(header) != 8:
                raise CheckpointFormatError(f"{path} ends before storage {key!r}")
            (numel,) = struct.unpack("<q", header)
            if numel != storage.numel:
                raise CheckpointFormatError(f"{path}: storage {key!r} says {numel} elements, its "
                                            f"tensors say {storage.numel}")
            storage.set_bytes(f.read(numel * storage.itemsize), "little")
    return _resolve(result)


def read_torch_checkpoint(path):
    """The object a ``torch.save`` file holds, with numpy arrays for tensors. See the module docstring.

    Raises UnsafeCheckpointError when the pickle names anything but tensor/storage rebuilding, and
    CheckpointFormatError when the file is not a checkpoint (or is damaged).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint file {path}")
    if zipfile.is_zipfile(path):
        return _read_zip(path)
    try:
        return _read_legacy(path)
    except (EOFError, struct.error, pickle.UnpicklingError) as err:
        if isinstance(err, UnsafeCheckpointError):
            raise
        raise CheckpointFormatError(f"{path}: not a readable PyTorch checkpoint ({err})") from err
