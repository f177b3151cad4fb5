"""Write PyTorch checkpoint files without torch: both torch.save formats, opcode by opcode.

A pickle is emitted by hand (protocol 2) so that it names exactly the globals and persistent ids
torch.save writes: GLOBAL 'torch._utils _rebuild_tensor_v2', GLOBAL 'torch FloatStorage', a BINPERSID
of ('storage', <type>, key, 'cpu', numel[, view_metadata]), GLOBAL 'collections OrderedDict' — and,
for the refusal tests, any other global (Global("os", "system")).

    Tensor(storage, offset, size, stride)    a tensor over a Storage (numpy 1-D data of one dtype)
    write_zip(path, obj) / write_legacy(path, obj)
"""

import collections
import pickle
import struct
import zipfile

import numpy as np

STORAGE_NAMES = {np.dtype("float32"): "FloatStorage", np.dtype("float64"): "DoubleStorage",
                 np.dtype("float16"): "HalfStorage", np.dtype("int64"): "LongStorage",
                 np.dtype("int32"): "IntStorage", np.dtype("int16"): "ShortStorage",
                 np.dtype("int8"): "CharStorage", np.dtype("uint8"): "ByteStorage",
                 np.dtype("bool"): "BoolStorage"}


class Global:
    def __init__(self, module, name):
        self.module, self.name = module, name


class Reduce:
    """callable(*args) at load time: `func` is a Global, `args` a tuple."""

    def __init__(self, func, args):
        self.func, self.args = func, tuple(args)


class PersistentId:
    def __init__(self, pid):
        self.pid = tuple(pid)


class Storage:
    """data: 1-D numpy array. type_name: torch storage class (default from the dtype); bfloat16 data
    is given as uint16 bit patterns with type_name="BFloat16Storage"."""

    def __init__(self, key, data, type_name=None):
        self.key = str(key)
        self.data = np.ascontiguousarray(data).reshape(-1)
        self.type_name = type_name or STORAGE_NAMES[self.data.dtype]


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, int(offset)
        self.size, self.stride = tuple(size), tuple(stride)


def contiguous(key, array):
    """A Tensor over a fresh storage holding `array` in C order (what torch.save writes for it)."""
    array = np.array(array, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
    strides = tuple(s // array.itemsize for s in array.strides) if array.ndim else ()
    return Tensor(Storage(key, array.reshape(-1)), 0, array.shape, strides)


class _Emitter:
    def __init__(self, legacy):
        self.out = bytearray(b"\x80\x02")
        self.legacy = legacy
        self.storages = {}

    def emit(self, obj):
        out = self.out
        if obj is None:
            out += b"N"
        elif obj is True:
            out += b"\x88"
        elif obj is False:
            out += b"\x89"
        elif isinstance(obj, int):
            if 0 <= obj < 256:
                out += b"K" + bytes([obj])
            elif -(2**31) <= obj < 2**31:
                out += b"J" + struct.pack("<i", obj)
            else:
                encoded = pickle.encode_long(obj)
                out += b"\x8a" + bytes([len(encoded)]) + encoded
        elif isinstance(obj, float):
            out += b"G" + struct.pack(">d", obj)
        elif isinstance(obj, str):
            encoded = obj.encode("utf-8")
            out += b"X" + struct.pack("<I", len(encoded)) + encoded
        elif isinstance(obj, tuple):
            if not obj:
                out += b")"
            else:
                out += b"("
                for item in obj:
                    self.emit(item)
                out += b"t"
        elif isinstance(obj, list):
            out += b"]("
            for item in obj:
                self.emit(item)
            out += b"e"
        elif isinstance(obj, collections.OrderedDict):
            self.emit(Reduce(Global("collections", "OrderedDict"), ()))
            self._items(obj)
        elif isinstance(obj, dict):
            out += b"}"
            self._items(obj)
        elif isinstance(obj, Global):
            out += b"c" + f"{obj.module}\n{obj.name}\n".encode("ascii")
        elif isinstance(obj, Reduce):
            self.emit(obj.func)
            self.emit(obj.args)
            out += b"R"
        elif isinstance(obj, PersistentId):
            self.emit(obj.pid)
            out += b"Q"
        elif isinstance(obj, Tensor):
            s = obj.storage
            self.storages[s.key] = s
            pid = ("storage", Global("torch", s.type_name), s.key, "cpu", int(s.data.size))
            if self.legacy:
                pid = (*pid, None)
            self.emit(Reduce(Global("torch._utils", "_rebuild_tensor_v2"),
                             (PersistentId(pid), obj.offset, obj.size, obj.stride, False,
                              collections.OrderedDict())))
        else:
            raise TypeError(f"cannot emit {type(obj).__name__}")

    def _items(self, mapping):
        if mapping:
            self.out += b"("
            for key, value in mapping.items():
                self.emit(key)
                self.emit(value)
            self.out += b"u"

    def finish(self):
        return bytes(self.out + b".")


def dumps(obj, legacy=False):
    """(pickle bytes, {key: Storage}) of obj."""
    emitter = _Emitter(legacy)
    emitter.emit(obj)
    return emitter.finish(), emitter.storages


def _little(data):
    return data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes()


def write_zip(path, obj, prefix="archive", byteorder="little"):
    """torch >= 1.6's format: <prefix>/data.pkl, <prefix>/data/<key>, <prefix>/byteorder, version."""
    payload, storages = dumps(obj)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{prefix}/data.pkl", payload)
        if byteorder is not None:
            archive.writestr(f"{prefix}/byteorder", byteorder)
        for key, storage in storages.items():
            data = storage.data
            raw = (data.astype(data.dtype.newbyteorder(">")).tobytes() if byteorder == "big"
                   else _little(data))
            archive.writestr(f"{prefix}/data/{key}", raw)
        archive.writestr(f"{prefix}/version", "3\n")


def write_legacy(path, obj):
    """The legacy format: magic, protocol, sys_info, main pickle, storage keys, then per storage an
    int64 element count and its little-endian bytes."""
    payload, storages = dumps(obj, legacy=True)
    keys = sorted(storages)
    with open(path, "wb") as f:
        f.write(dumps(0x1950A86A20F9469CFC6C)[0])
        f.write(dumps(1001)[0])
        f.write(dumps({"protocol_version": 1001, "little_endian": True,
                       "type_sizes": {"short": 2, "int": 4, "long": 4}})[0])
        f.write(payload)
        f.write(dumps(keys)[0])
        for key in keys:
            data = storages[key].data
            f.write(struct.pack("<q", data.size))
            f.write(_little(data))


WRITERS = {"zip": write_zip, "legacy": write_legacy}
