"""Cache folders of .npy files with a checksummed manifest, written atomically.

A cache is a folder holding `.npy` files and `manifest.json`:

    {"format": 1, "key": {...what the content was made from...},
     "files": {"imgs.npy": {"sha256": "...", "bytes": 377487488}, ...}}

It is built in a temporary sibling folder and renamed into place only once every file and the manifest
are written, so a killed writer never leaves a folder that passes `verify`. `verify` recomputes every
checksum: a truncated or corrupted file is reported, never silently used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile

import numpy as np

log = logging.getLogger("tfdisvae.data")

MANIFEST = "manifest.json"
_CHUNK = 1 << 22


def default_data_dir(data_dir: str | os.PathLike | None = None) -> str:
    """The data folder: `data_dir` if given, else $TFDISVAE_DATA, else ~/.cache/tfdisvae."""
    if data_dir is None:
        data_dir = os.environ.get("TFDISVAE_DATA") or os.path.join("~", ".cache", "tfdisvae")
    return os.path.abspath(os.path.expanduser(os.fspath(data_dir)))


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify(folder: str, key: dict | None = None) -> str | None:
    """None when `folder` is a complete cache made from `key`, else the reason it is not."""
    manifest_path = os.path.join(folder, MANIFEST)
    if not os.path.isfile(manifest_path):
        return f"no {MANIFEST} in {folder}"
    try:
        with open(manifest_path) as f:
            manifest = json.load(f)
        files = manifest["files"]
    except (OSError, ValueError, KeyError) as err:
        return f"unreadable {manifest_path}: {err}"
    if key is not None and manifest.get("key") != key:
        return f"{folder} was made from {manifest.get('key')}, not {key}"
    for name, entry in files.items():
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            return f"{path} is missing"
        size = os.path.getsize(path)
        if size != entry["bytes"]:
            return f"{path} has {size} bytes, the manifest says {entry['bytes']} (truncated?)"
        if sha256_file(path) != entry["sha256"]:
            return f"{path} does not match its sha256 checksum (corrupted?)"
    return None


class CacheWriter:
    """Builds a cache folder in a temporary sibling; `commit()` renames it into place.

        with CacheWriter(folder, key) as cache:
            imgs = cache.open_memmap("imgs.npy", dtype=np.uint8, shape=(n, 64, 8))
            ... fill imgs ...
            cache.save("latents_classes.npy", classes)
        # on a clean exit the folder is complete and verified; on an exception nothing is left behind
    """

    def __init__(self, folder: str, key: dict):
        self.folder = folder
        self.key = key
        self._memmaps: list[np.memmap] = []
        parent = os.path.dirname(folder)
        os.makedirs(parent, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix=os.path.basename(folder) + ".tmp-", dir=parent)

    def path(self, name: str) -> str:
        return os.path.join(self.tmp, name)

    def open_memmap(self, name: str, dtype, shape) -> np.memmap:
        array = np.lib.format.open_memmap(self.path(name), mode="w+", dtype=dtype, shape=shape)
        self._memmaps.append(array)
        return array

    def save(self, name: str, array: np.ndarray) -> None:
        np.save(self.path(name), array)

    def commit(self) -> None:
        for array in self._memmaps:
            array.flush()
        self._memmaps.clear()
        files = {}
        for name in sorted(os.listdir(self.tmp)):
            path = self.path(name)
            files[name] = {"sha256": sha256_file(path), "bytes": os.path.getsize(path)}
        with open(self.path(MANIFEST), "w") as f:
            json.dump({"format": 1, "key": self.key, "files": files}, f, indent=1, sort_keys=True)
        # Swap the finished folder in: the old one (stale or corrupt) is moved aside first, because a
        # folder cannot be renamed over a non-empty one.
        old = None
        if os.path.lexists(self.folder):
            old = tempfile.mkdtemp(prefix=os.path.basename(self.folder) + ".old-",
                                   dir=os.path.dirname(self.folder))
            os.rename(self.folder, os.path.join(old, "x"))
        os.rename(self.tmp, self.folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        self._memmaps.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> CacheWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
