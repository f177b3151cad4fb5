"""Version numbers, the base's lock, temporary folders and the publish journal of an export (the
crash-safety described in tfdisvae.export)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import signal
from pathlib import Path

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TMP_PREFIX = ".tmp-"
EXPORT_STAGES = ("encoder_written", "decoder_written", "journal_written", "encoder_published",
                 "decoder_published")
KILL_AT_ENV = "TFDISVAE_EXPORT_KILL_AT"

__all__ = ["EXPORT_STAGES", "KILL_AT_ENV", "base_lock", "check_model_name", "claim_version",
           "complete_half_published", "list_versions", "next_version", "publish_pair",
           "remove_stale_temporaries"]


def check_model_name(model_name):
    if not isinstance(model_name, str) or not _MODEL_NAME.match(model_name):
        raise ValueError(f"model_name {model_name!r} is not a usable TF Serving model name: use letters, "
                         "digits, '_', '-' or '.', starting with a letter or digit (e.g. 'dsprites_beta_vae').")
    return model_name


def list_versions(model_dir):
    """The integer version directories under model_dir, sorted ([] if it does not exist)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def next_version(*model_dirs):
    """max(existing integer versions over all model_dirs) + 1; 1 for an empty base."""
    return max([0, *(v for d in model_dirs for v in list_versions(d))]) + 1


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(model_dir):
    """Delete `.tmp-<version>-<pid>` folders left by exports whose process is gone; returns what was removed."""
    model_dir, removed = Path(model_dir), []
    for path in model_dir.glob(f"{_TMP_PREFIX}*") if model_dir.is_dir() else ():
        pid = path.name.rsplit("-", 1)[-1]
        if not (pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextlib.contextmanager
def base_lock(export_base, model_name):
    """An exclusive flock on EXPORT_BASE/.<model_name>.lock, so concurrent exports pick distinct versions."""
    path = Path(export_base) / f".{model_name}.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stage_done(stage):
    """Fault injection for the export tests: SIGKILL this process after `stage` if $TFDISVAE_EXPORT_KILL_AT names it."""
    if os.environ.get(KILL_AT_ENV) == stage:
        os.kill(os.getpid(), signal.SIGKILL)


def _journal_path(export_base, model_name, version):
    return Path(export_base) / f".{model_name}.publishing-{version}.json"


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_journal(path, moves):
    """Atomically write the list of (temporary, final) renames of one pair, relative to the base."""
    tmp = path.with_name(path.name + ".tmp")
    base = path.parent
    with open(tmp, "w") as handle:
        json.dump({"moves": [[str(a.relative_to(base)), str(b.relative_to(base))] for a, b in moves]}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(base)


def complete_half_published(export_base, model_name):
    """Finish the publication of every pair whose export was killed after its journal was written.

    Renames each half still in its temporary folder into place, then removes the journal. Returns the versions
    completed. Called by every export before it looks at versions.
    """
    export_base = Path(export_base)
    done = []
    for journal in sorted(export_base.glob(f".{model_name}.publishing-*.json")):
        try:
            moves = json.loads(journal.read_text())["moves"]
        except (ValueError, KeyError, OSError) as err:
            raise ValueError(f"publish journal {journal} is unreadable ({err}); check that both "
                             f"{model_name}_encoder and {model_name}_decoder hold the version it names, "
                             "then delete it") from err
        for tmp, final in moves:
            tmp, final = export_base / tmp, export_base / final
            if not final.exists() and tmp.is_dir():
                os.rename(tmp, final)
        journal.unlink()
        _fsync_dir(export_base)
        done.append(int(journal.name.rsplit("-", 1)[-1].split(".")[0]))
    for leftover in export_base.glob(f".{model_name}.publishing-*.json.tmp"):
        leftover.unlink()  # a journal killed while being written: its export had not published anything
    return done


def _publish(tmp_dir, final_dir):
    """Rename a finished temporary SavedModel into place; never replaces an existing version."""
    if final_dir.exists():
        raise FileExistsError(f"version directory {final_dir} already exists; an export never overwrites one.")
    try:
        os.rename(tmp_dir, final_dir)
    except OSError as err:  # a non-empty target (another writer) makes rename fail: keep that version
        if err.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise FileExistsError(f"version directory {final_dir} appeared during the export; it was "
                                  "left untouched.") from err
        raise


def claim_version(export_base, model_name, model_dirs, version=None):
    """The version the next export writes, under the base's lock (base_lock): half-published pairs are
    completed and stale temporaries removed first. version: None (max + 1) or one above every existing."""
    complete_half_published(export_base, model_name)
    for model_dir in model_dirs.values():
        model_dir.mkdir(exist_ok=True)
        remove_stale_temporaries(model_dir)
    latest = next_version(*model_dirs.values()) - 1
    if version is None:
        return latest + 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"version must be a positive integer; got {version!r}.")
    if version <= latest:
        names = ", ".join(Path(d).name for d in model_dirs.values())
        raise FileExistsError(f"version {version} is not above the latest existing version {latest} under "
                              f"{export_base} ({names}); versions only grow and are never overwritten. "
                              f"Leave --version out to get {latest + 1}.")
    return version


def publish_pair(export_base, model_name, version, model_dirs, write):
    """Write each model into its temporary folder (`write(role, folder)`), then publish them together:
    a journal naming both renames, the renames, the journal removed. Returns {role: version folder}.

    Killed before the journal exists, the version never appears (the next export removes the
    temporaries); after it, the next export completes the pair (complete_half_published).
    """
    export_base = Path(export_base)
    tmp_dirs = {role: d / f"{_TMP_PREFIX}{version}-{os.getpid()}" for role, d in model_dirs.items()}
    final_dirs = {role: d / str(version) for role, d in model_dirs.items()}
    journal = _journal_path(export_base, model_name, version)
    journaled = False
    try:
        for role, tmp in tmp_dirs.items():
            write(role, tmp)
            _stage_done(f"{role}_written")
        for final in final_dirs.values():
            if final.exists():
                raise FileExistsError(f"version directory {final} already exists; an export never "
                                      "overwrites one.")
        _write_journal(journal, [(tmp_dirs[role], final_dirs[role]) for role in model_dirs])
        journaled = True
        _stage_done("journal_written")
        for role in model_dirs:
            _publish(tmp_dirs[role], final_dirs[role])
            _stage_done(f"{role}_published")
        journal.unlink()
        _fsync_dir(export_base)
    finally:
        if not journaled:
            for tmp in tmp_dirs.values():
                shutil.rmtree(tmp, ignore_errors=True)
    return final_dirs
