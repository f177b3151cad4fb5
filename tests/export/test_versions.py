"""Encoder and decoder of one export are published as a pair: an export SIGKILLed after any of its stages
leaves either no trace of its version in the folders TF Serving watches, or a publish journal with which the
next export completes the pair before doing anything else. Never a half-written SavedModel, never a version
whose other half is lost."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
import tensorflow as tf

from tfdisvae import export, networks

IMAGE_SHAPE = (32, 32, 1)
LATENT_DIM = 3
MODELS = ("burgess_encoder", "burgess_decoder")

_EXPORT = textwrap.dedent("""
    import sys
    import keras
    from tfdisvae import export, networks
    keras.utils.set_random_seed(0)
    enc = networks.make_encoder("burgess", (32, 32, 1), 3)
    dec = networks.make_decoder("burgess", (32, 32, 1), 3)
    export.export_encoder_decoder(enc, dec, sys.argv[1], "burgess")
""")


def _networks():
    import keras

    keras.utils.set_random_seed(0)
    return (networks.make_encoder("burgess", IMAGE_SHAPE, LATENT_DIM),
            networks.make_decoder("burgess", IMAGE_SHAPE, LATENT_DIM))


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A base holding version 1, and one copy of it per stage into which an export of version 2 was
    SIGKILLed right after that stage (the subprocesses run concurrently)."""
    root = tmp_path_factory.mktemp("pair")
    encoder, decoder = _networks()
    export.export_encoder_decoder(encoder, decoder, root / "v1", "burgess")
    procs = {}
    for stage in export.EXPORT_STAGES:
        shutil.copytree(root / "v1", root / stage)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **{export.KILL_AT_ENV: stage})
        procs[stage] = subprocess.Popen([sys.executable, "-c", _EXPORT, str(root / stage)], env=env,
                                        stderr=subprocess.PIPE, text=True)
    for stage, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == -signal.SIGKILL, (stage, err[-2000:])
    return root, encoder, decoder


def _visible(base):
    return {model: export.list_versions(base / model) for model in MODELS}


def _journals(base):
    return sorted(p.name for p in base.glob(".burgess.publishing-*"))


@pytest.mark.slow
@pytest.mark.parametrize("stage", export.EXPORT_STAGES)
def test_export_killed_after_each_stage_is_all_or_repaired(killed, stage):
    root, encoder, decoder = killed
    base = root / stage
    visible = _visible(base)
    journaled = export.EXPORT_STAGES.index(stage) >= export.EXPORT_STAGES.index("journal_written")
    if not journaled:
        # Killed before the journal: version 2 never appears, only temporary folders remain.
        assert visible == {m: [1] for m in MODELS} and _journals(base) == []
    else:
        # From the journal on, the pair is committed: the journal names both halves of version 2.
        assert _journals(base) == [".burgess.publishing-2.json"]
        moves = json.loads((base / ".burgess.publishing-2.json").read_text())["moves"]
        assert [final for _, final in moves] == [f"{m}/2" for m in MODELS]
        expected = {"journal_written": ([1], [1]), "encoder_published": ([1, 2], [1]),
                    "decoder_published": ([1, 2], [1, 2])}[stage]
        assert visible == dict(zip(MODELS, expected, strict=True))
    # The next export completes (or clears) what was left, then adds its own version.
    result = export.export_encoder_decoder(encoder, decoder, base, "burgess")
    assert result.version == (3 if journaled else 2)
    assert _visible(base) == {m: list(range(1, result.version + 1)) for m in MODELS}
    assert _journals(base) == []
    for model in MODELS:
        assert [p.name for p in (base / model).iterdir() if not p.name.isdigit()] == []
        # Every published version is a whole SavedModel of its model, with its own metadata.
        for version in range(1, result.version + 1):
            meta = json.loads((base / model / str(version) / "assets.extra" / "tfdisvae.json").read_text())
            assert meta["version"] == version and meta["serving_model_name"] == model
    loaded = tf.saved_model.load(str(base / "burgess_decoder" / "2"))
    assert {"serving_default", "reconstruct"} <= set(loaded.signatures)


def test_unreadable_journal_is_one_clear_error(tmp_path):
    (tmp_path / ".burgess.publishing-4.json").write_text("{not json")
    encoder, decoder = _networks()
    with pytest.raises(ValueError, match=r"publish journal .*publishing-4.json is unreadable"):
        export.export_encoder_decoder(encoder, decoder, tmp_path, "burgess")
