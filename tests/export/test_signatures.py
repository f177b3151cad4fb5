"""SavedModel export: signatures seen by TF's own tools, outputs equal to Keras, warm-up file, versions, atomicity.

One export of small real tfdisvae networks per module; the slow parts (saved_model_cli, the killed subprocess)
run as concurrent subprocesses.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfdisvae import export, networks

IMAGE_SHAPE = (32, 32, 1)
LATENT_DIM = 3
ATOL = 1e-5
SAVED_MODEL_CLI = str(Path(sys.executable).with_name("saved_model_cli"))


def _networks(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return networks.make_encoder("burgess", IMAGE_SHAPE, LATENT_DIM), networks.make_decoder(
        "burgess", IMAGE_SHAPE, LATENT_DIM)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("export_base")
    encoder, decoder = _networks()
    result = export.export_encoder_decoder(encoder, decoder, base, "burgess", likelihood="bernoulli",
                                           source={"note": "test"})
    return result, encoder, decoder, base


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(0, 1, size=(4, *IMAGE_SHAPE)).astype(np.float32)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_layout_and_metadata(exported):
    result, _, _, base = exported
    assert result.version == 1
    assert result.encoder_dir == base / "burgess_encoder" / "1" and result.decoder_dir == base / "burgess_decoder" / "1"
    for directory in (result.encoder_dir, result.decoder_dir):
        assert (directory / "saved_model.pb").is_file() and (directory / "variables").is_dir()
        assert (directory / "assets.extra" / export.WARMUP_FILENAME).is_file()
    meta = json.loads((result.encoder_dir / "assets.extra" / export.METADATA_FILENAME).read_text())
    assert meta["image_shape"] == list(IMAGE_SHAPE) and meta["latent_dim"] == LATENT_DIM
    assert meta["version"] == 1 and meta["role"] == "encoder" and meta["source"] == {"note": "test"}
    assert sorted(p.name for p in base.iterdir() if not p.name.startswith(".")) == ["burgess_decoder",
                                                                                      "burgess_encoder"]
    assert sorted(p.name for p in (base / "burgess_encoder").iterdir()) == ["1"]  # no temporaries left


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_loaded_signatures_equal_keras(likelihood, exported, images, tmp_path):
    if likelihood == "bernoulli":
        result, encoder, decoder, _ = exported
    else:
        encoder, decoder = _networks(seed=1)
        result = export.export_encoder_decoder(encoder, decoder, tmp_path, "g", likelihood="gaussian")
    enc = tf.saved_model.load(str(result.encoder_dir))
    dec = tf.saved_model.load(str(result.decoder_dir))
    assert set(enc.signatures) == {"serving_default", "representation", "sample", "sample_seeded"}
    assert set(dec.signatures) == {"serving_default", "reconstruct"}
    params = encoder(images).numpy()
    mean, log_var = params[:, :LATENT_DIM], params[:, LATENT_DIM:]
    x = tf.constant(images)

    out = enc.signatures["serving_default"](images=x)
    np.testing.assert_allclose(out["mean"].numpy(), mean, atol=ATOL)
    np.testing.assert_allclose(out["log_var"].numpy(), log_var, atol=ATOL)
    np.testing.assert_allclose(enc.signatures["representation"](images=x)["mean"].numpy(), mean, atol=ATOL)
    seed = tf.constant([7, 11], tf.int64)
    eps = tf.random.stateless_normal([len(images), LATENT_DIM], seed=seed).numpy()
    np.testing.assert_allclose(enc.signatures["sample_seeded"](images=x, seed=seed)["z"].numpy(),
                               mean + np.exp(0.5 * log_var) * eps, atol=ATOL)
    draws = np.stack([enc.signatures["sample"](images=x)["z"].numpy() for _ in range(2)])
    assert not np.allclose(draws[0], draws[1])  # stateful: a new draw per call

    latents = np.random.default_rng(2).standard_normal((4, LATENT_DIM)).astype(np.float32)
    decoded = dec.signatures["serving_default"](latents=tf.constant(latents))
    raw = decoder(latents).numpy()
    recon = decoder(mean).numpy()
    if likelihood == "bernoulli":
        assert set(decoded) == {"logits", "probabilities"}
        np.testing.assert_allclose(decoded["logits"].numpy(), raw, atol=ATOL)
        np.testing.assert_allclose(decoded["probabilities"].numpy(), _sigmoid(raw), atol=ATOL)
        recon = _sigmoid(recon)
    else:
        assert set(decoded) == {"mean_image"}
        np.testing.assert_allclose(decoded["mean_image"].numpy(), raw, atol=ATOL)
    np.testing.assert_allclose(dec.signatures["reconstruct"](images=x)["reconstruction"].numpy(), recon, atol=ATOL)


@pytest.mark.parametrize(
    ("signature", "bad", "fragment"),
    [
        ("representation", lambda x: np.repeat(x, 3, axis=-1), "expects images: float32 [batch, 32, 32, 1]"),
        ("representation", lambda x: x[0], "got shape] [32 32 1]"),
        ("serving_default", lambda x: x - 0.5, "with values in [0, 1]"),
        ("serving_default", lambda x: np.where(x > 0.5, np.nan, x).astype(np.float32), "with values in [0, 1]"),
    ],
)
def test_signatures_validate_their_inputs(signature, bad, fragment, exported, images):
    result, _, _, _ = exported
    enc = tf.saved_model.load(str(result.encoder_dir))
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        enc.signatures[signature](images=tf.constant(bad(images)))
    assert fragment in info.value.message and f"encoder signature {signature} expects" in info.value.message


def test_decoder_rejects_wrong_latent_width(exported):
    result, _, _, _ = exported
    dec = tf.saved_model.load(str(result.decoder_dir))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"expects latents: float32 \[batch, 3\]"):
        dec.signatures["serving_default"](latents=tf.zeros([2, 4]))


def test_metadata_describes_the_saved_signatures(exported):
    """tfdisvae.json's signatures (derived from the same table as the functions) are what was saved."""
    result = exported[0]

    def described(specs):
        return {k: {"dtype": s.dtype.name, "shape": [-1 if d is None else d for d in s.shape.as_list()]}
                for k, s in specs.items()}

    for directory in (result.encoder_dir, result.decoder_dir):
        documented = json.loads((directory / "assets.extra" / export.METADATA_FILENAME).read_text())
        loaded = tf.saved_model.load(str(directory))
        assert set(documented["signatures"]) == set(loaded.signatures)
        for name, fn in loaded.signatures.items():
            doc = documented["signatures"][name]
            assert doc["inputs"] == {k: {**v, "range": [0.0, 1.0]} if k == "images" else v
                                     for k, v in described(fn.structured_input_signature[1]).items()}
            assert doc["outputs"] == described(fn.structured_outputs)


def test_warmup_requests_parse_and_replay(exported):
    result, _, _, _ = exported
    for directory, name in ((result.encoder_dir, result.encoder_name), (result.decoder_dir, result.decoder_name)):
        logs = export.read_warmup_requests(directory / "assets.extra" / export.WARMUP_FILENAME)
        loaded = tf.saved_model.load(str(directory))
        assert sorted(log.predict_log.request.model_spec.signature_name for log in logs) == sorted(loaded.signatures)
        for log in logs:
            assert log.WhichOneof("log_type") == "predict_log"
            request = log.predict_log.request
            assert request.model_spec.name == name
            fn = loaded.signatures[request.model_spec.signature_name]
            specs = fn.structured_input_signature[1]
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            assert set(inputs) == set(specs)
            for key, value in inputs.items():
                assert value.dtype == specs[key].dtype.as_numpy_dtype
                assert specs[key].shape.is_compatible_with(value.shape)
            fn(**{k: tf.constant(v) for k, v in inputs.items()})  # replays like the server's warm-up


def _parse_show(text):
    """saved_model_cli show --all -> {signature: {"inputs": {k: (dtype, shape)}, "outputs": ..., "method": m}}."""
    sigs, current, side, key = {}, None, None, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("signature_def['"):
            current = sigs.setdefault(line.split("'")[1], {"inputs": {}, "outputs": {}})
        elif current is None:
            continue
        elif line.startswith(("inputs['", "outputs['")):
            side, key = line.split("[")[0], line.split("'")[1]
        elif line.startswith("dtype:") and key:
            current[side][key] = [line.split()[1], None]
        elif line.startswith("shape:") and key:
            current[side][key][1] = line.split(":", 1)[1].strip()
            key = None
        elif line.startswith("Method name is:"):
            current["method"] = line.split(":", 1)[1].strip()
    return {k: {"inputs": {n: tuple(v) for n, v in s["inputs"].items()},
                "outputs": {n: tuple(v) for n, v in s["outputs"].items()}, "method": s.get("method")}
            for k, s in sigs.items() if not k.startswith("__")}


def test_saved_model_cli_show_and_run(exported, images, tmp_path):
    result, encoder, decoder, _ = exported
    np.save(tmp_path / "images.npy", images)
    latents = encoder(images).numpy()[:, :LATENT_DIM]
    np.save(tmp_path / "latents.npy", latents)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    commands = {
        "show_encoder": ["show", "--dir", str(result.encoder_dir), "--all"],
        "show_decoder": ["show", "--dir", str(result.decoder_dir), "--all"],
        "run_encoder": ["run", "--dir", str(result.encoder_dir), "--tag_set", "serve", "--signature_def",
                        "serving_default", "--inputs", f"images={tmp_path / 'images.npy'}", "--outdir",
                        str(tmp_path / "enc_out")],
        "run_decoder": ["run", "--dir", str(result.decoder_dir), "--tag_set", "serve", "--signature_def",
                        "serving_default", "--inputs", f"latents={tmp_path / 'latents.npy'}", "--outdir",
                        str(tmp_path / "dec_out")],
    }
    procs = {k: subprocess.Popen([SAVED_MODEL_CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=env) for k, args in commands.items()}
    outs = {}
    for key, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=240)
        assert proc.returncode == 0, f"saved_model_cli {key} failed:\n{stderr[-2000:]}"
        outs[key] = stdout

    image = ("DT_FLOAT", "(-1, 32, 32, 1)")
    latent = ("DT_FLOAT", "(-1, 3)")
    predict = "tensorflow/serving/predict"
    assert _parse_show(outs["show_encoder"]) == {
        "serving_default": {"inputs": {"images": image}, "outputs": {"mean": latent, "log_var": latent},
                            "method": predict},
        "representation": {"inputs": {"images": image}, "outputs": {"mean": latent}, "method": predict},
        "sample": {"inputs": {"images": image}, "outputs": {"z": latent}, "method": predict},
        "sample_seeded": {"inputs": {"images": image, "seed": ("DT_INT64", "(2)")}, "outputs": {"z": latent},
                          "method": predict},
    }
    assert _parse_show(outs["show_decoder"]) == {
        "serving_default": {"inputs": {"latents": latent}, "outputs": {"logits": image, "probabilities": image},
                            "method": predict},
        "reconstruct": {"inputs": {"images": image}, "outputs": {"reconstruction": image}, "method": predict},
    }
    np.testing.assert_allclose(np.load(tmp_path / "enc_out" / "mean.npy"), latents, atol=ATOL)
    np.testing.assert_allclose(np.load(tmp_path / "enc_out" / "log_var.npy"),
                               encoder(images).numpy()[:, LATENT_DIM:], atol=ATOL)
    np.testing.assert_allclose(np.load(tmp_path / "dec_out" / "logits.npy"), decoder(latents).numpy(), atol=ATOL)


# ----------------------------------------------------------------------------------------------- versions


def _tree(path):
    return sorted((str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in path.rglob("*"))


def test_versions_only_grow_and_are_never_overwritten(exported, tmp_path):
    _, encoder, decoder, base = exported
    work = tmp_path / "base"
    shutil.copytree(base, work)
    (work / "burgess_encoder" / "notes").mkdir()  # non-integer folders are not versions
    before = _tree(work / "burgess_encoder" / "1")
    second = export.export_encoder_decoder(encoder, decoder, work, "burgess")
    assert second.version == 2 and export.list_versions(work / "burgess_decoder") == [1, 2]
    for version in (1, 2):
        with pytest.raises(FileExistsError, match="versions only grow"):
            export.export_encoder_decoder(encoder, decoder, work, "burgess", version=version)
    assert _tree(work / "burgess_encoder" / "1") == before
    fifth = export.export_encoder_decoder(encoder, decoder, work, "burgess", version=5)
    assert fifth.version == 5 and export.next_version(work / "burgess_encoder", work / "burgess_decoder") == 6


def test_injected_writer_failure_leaves_no_partial_version(exported, tmp_path, monkeypatch):
    _, encoder, decoder, base = exported
    work = tmp_path / "base"
    shutil.copytree(base, work)
    real = export.write_warmup_requests
    calls = []

    def failing(path, model_name, requests):
        calls.append(model_name)
        real(path, model_name, {k: requests[k] for k in list(requests)[:1]})  # half a file, then fail
        if model_name.endswith("_decoder"):  # the encoder's temporary SavedModel is complete by now
            raise OSError("injected failure while writing the decoder")

    monkeypatch.setattr(export.export, "write_warmup_requests", failing)  # where it is called
    with pytest.raises(OSError, match="injected failure"):
        export.export_encoder_decoder(encoder, decoder, work, "burgess")
    assert calls == ["burgess_encoder", "burgess_decoder"]
    for model in ("burgess_encoder", "burgess_decoder"):
        assert sorted(p.name for p in (work / model).iterdir()) == ["1"]


_KILLED_EXPORT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import keras
    from tfdisvae import export, networks
    base, ready = Path(sys.argv[1]), Path(sys.argv[2])
    keras.utils.set_random_seed(0)
    enc = networks.make_encoder("burgess", (32, 32, 1), 3)
    dec = networks.make_decoder("burgess", (32, 32, 1), 3)
    real = export.write_warmup_requests
    def slow(path, model_name, requests):
        real(path, model_name, {k: requests[k] for k in list(requests)[:1]})
        ready.write_text(str(path))
        time.sleep(120)  # killed here, mid-write
    export.export.write_warmup_requests = slow
    export.export_encoder_decoder(enc, dec, base, "burgess")
""")


def test_sigkill_mid_export_leaves_only_complete_versions(exported, tmp_path):
    _, encoder, decoder, base = exported
    work = tmp_path / "base"
    shutil.copytree(base, work)
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_EXPORT, str(work), str(ready)],
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the export subprocess never reached the writer"
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    partial = Path(ready.read_text())
    assert partial.parts[-4] == "burgess_encoder" and partial.parts[-3].startswith(f".tmp-2-{proc.pid}")
    # TF Serving only looks at integer folders: those are the complete version 1 alone.
    for model in ("burgess_encoder", "burgess_decoder"):
        assert export.list_versions(work / model) == [1]
    # The next export clears the dead process's temporary folder and takes version 2.
    result = export.export_encoder_decoder(encoder, decoder, work, "burgess")
    assert result.version == 2
    assert sorted(p.name for p in (work / "burgess_encoder").iterdir()) == ["1", "2"]


def test_bad_arguments_have_clear_errors(tmp_path):
    encoder, decoder = _networks()
    with pytest.raises(ValueError, match="not a usable TF Serving model name"):
        export.export_encoder_decoder(encoder, decoder, tmp_path, "bad/name")
    with pytest.raises(ValueError, match="likelihood 'poisson'"):
        export.export_encoder_decoder(encoder, decoder, tmp_path, "m", likelihood="poisson")
    other = networks.make_decoder("burgess", IMAGE_SHAPE, LATENT_DIM + 1)
    with pytest.raises(ValueError, match="2 \\* latent_dim = 8"):
        export.export_encoder_decoder(encoder, other, tmp_path, "m")
    with pytest.raises(ValueError, match="positive integer"):
        export.export_encoder_decoder(encoder, decoder, tmp_path, "m", version=0)
    assert not any(p.name.isdigit() for p in tmp_path.rglob("*"))
