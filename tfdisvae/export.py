"""SavedModel export in TensorFlow Serving's layout (the library side of `export.py`).

One export writes two SavedModels, each a model TF Serving can load on its own:

    EXPORT_BASE/<model_name>_encoder/<version>/     images  -> posterior parameters, representation, samples
    EXPORT_BASE/<model_name>_decoder/<version>/     latents -> image likelihood parameters; images -> reconstruction

Encoder signatures (input `images`: float32 [batch, H, W, C], values in [0, 1]):
    serving_default   images -> mean [batch, latent_dim], log_var [batch, latent_dim]  (q(z|x) = N(mean, exp(log_var)))
    representation    images -> mean [batch, latent_dim]                               (what metrics call the code)
    sample            images -> z [batch, latent_dim], z = mean + exp(log_var / 2) * eps, eps ~ N(0, I) drawn by a
                      stateful op (a new draw on every request)
    sample_seeded     images, seed (int64 [2]) -> z, eps from `tf.random.stateless_normal(seed)`: the same seed and
                      images give the same z on every server. `seed` has no batch dimension, so call it with
                      TF Serving's columnar `inputs` JSON, not row `instances`.

Decoder signatures (likelihood from the run's config):
    serving_default   latents float32 [batch, latent_dim] ->
                          bernoulli:          logits, probabilities (= sigmoid(logits), the mean image), [batch, H, W, C]
                          gaussian / laplace: mean_image [batch, H, W, C] (the location of the fixed-scale likelihood)
    reconstruct       images [batch, H, W, C] in [0, 1] -> reconstruction [batch, H, W, C]: the mean image decoded
                      from the posterior mean (the decoder SavedModel carries the encoder for this).

Input validation happens inside every signature, so TF Serving itself answers bad requests with
INVALID_ARGUMENT: rank and trailing shape (signature functions accept any shape otherwise), value range [0, 1]
for images (NaN fails it too) and finite latents. The messages name the expected input. Dtypes are fixed by the
signature. Only stock TF ops are exported: loading needs neither TFP nor tfdisvae.

Versions only grow: the next version is max(existing integer versions of both models) + 1, and an explicit
version must be larger than every existing one. Each SavedModel is written to
`<model_dir>/.tmp-<version>-<pid>/` (TF Serving ignores names that are not integers) and renamed into place, so a
server watching the base never sees a half-written version. Exports into one base are serialised with a lock file.

Encoder and decoder of one version are published as a pair: only when both temporary SavedModels are complete is
a journal `EXPORT_BASE/.<model_name>.publishing-<version>.json` written (atomically) naming the two renames; then
both renames run and the journal is removed. A pair is published when its journal is gone. An export killed before
the journal exists leaves only `.tmp-*` folders (removed by the next export: the version never appears); one killed
after it (between or after the renames) is completed by the next export before anything else: the missing half is
renamed into place from its finished temporary folder. The stages are named in `EXPORT_STAGES`; setting
`TFDISVAE_EXPORT_KILL_AT=<stage>` makes the process SIGKILL itself there (tests/export/test_export_pair.py kills an
export at every stage).

Each version also holds `assets.extra/tf_serving_warmup_requests` (a TFRecord of `PredictionLog`s, one request
per signature, replayed by the server when it loads the version) and `assets.extra/tfdisvae.json` (shapes,
signatures, likelihood, source run and checkpoint).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import fcntl
import json
import os
import re
import shutil
import signal
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfdisvae.distributions import LIKELIHOODS

WARMUP_FILENAME = "tf_serving_warmup_requests"
METADATA_FILENAME = "tfdisvae.json"
WARMUP_BATCH = 2
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TMP_PREFIX = ".tmp-"
EXPORT_STAGES = ("encoder_written", "decoder_written", "journal_written", "encoder_published",
                 "decoder_published")
KILL_AT_ENV = "TFDISVAE_EXPORT_KILL_AT"


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """Where one export landed: both SavedModel directories and their common version."""

    version: int
    encoder_dir: Path
    decoder_dir: Path
    encoder_name: str
    decoder_name: str


# ----------------------------------------------------------------------------------------------- signatures


def _images_spec(image_shape):
    return tf.TensorSpec([None, *image_shape], tf.float32, name="images")


def _latents_spec(latent_dim):
    return tf.TensorSpec([None, latent_dim], tf.float32, name="latents")


def _check_images(images, image_shape, where):
    """Assert rank 4, trailing shape image_shape and values in [0, 1]; returns images with the checks attached."""
    expected = f"images: float32 [batch, {', '.join(map(str, image_shape))}] with values in [0, 1]"
    shape = tf.shape(images)
    # Pad before slicing so a wrong rank gives the message below, not a slicing error.
    padded = tf.concat([shape, tf.zeros([4], tf.int32)], axis=0)[1:4]
    shape_ok = tf.logical_and(
        tf.equal(tf.size(shape), 4), tf.reduce_all(tf.equal(padded, tf.constant(image_shape, tf.int32)))
    )
    check_shape = tf.debugging.Assert(
        shape_ok, [f"{where} expects {expected}; got shape", shape], summarize=8,
        name="check_images_shape"
    )
    with tf.control_dependencies([check_shape]):
        in_range = tf.reduce_all(tf.logical_and(images >= 0.0, images <= 1.0))
        check_range = tf.debugging.Assert(
            in_range,
            [f"{where} expects {expected} (scale uint8 pixels by 1/255); got min, max",
             tf.reduce_min(images), tf.reduce_max(images)],
            name="check_images_range",
        )
    with tf.control_dependencies([check_range]):
        return tf.identity(images)


def _check_latents(latents, latent_dim, where):
    expected = f"latents: float32 [batch, {latent_dim}], finite"
    shape = tf.shape(latents)
    padded = tf.concat([shape, tf.zeros([2], tf.int32)], axis=0)[1:2]
    shape_ok = tf.logical_and(tf.equal(tf.size(shape), 2), tf.reduce_all(tf.equal(padded, [latent_dim])))
    check_shape = tf.debugging.Assert(
        shape_ok, [f"{where} expects {expected}; got shape", shape], summarize=8,
        name="check_latents_shape"
    )
    with tf.control_dependencies([check_shape]):
        check_finite = tf.debugging.Assert(
            tf.reduce_all(tf.math.is_finite(latents)),
            [f"{where} expects {expected}; got NaN or infinite values"],
            name="check_latents_finite",
        )
    with tf.control_dependencies([check_finite]):
        return tf.identity(latents)


def _split_params(encoder, images, latent_dim):
    params = tf.cast(encoder(images, training=False), tf.float32)  # float32 also under a mixed policy
    return params[:, :latent_dim], params[:, latent_dim:]


def _mean_image(decoder, latents, likelihood):
    out = tf.cast(decoder(latents, training=False), tf.float32)
    return tf.sigmoid(out) if likelihood == "bernoulli" else out


def encoder_signatures(encoder, image_shape, latent_dim):
    """The encoder's tf.functions, serving_default first: {name: (tf.function, doc)}."""
    spec = _images_spec(image_shape)

    @tf.function(input_signature=[spec])
    def serving_default(images):
        images = _check_images(images, image_shape, "encoder signature serving_default")
        mean, log_var = _split_params(encoder, images, latent_dim)
        return {"mean": mean, "log_var": log_var}

    @tf.function(input_signature=[spec])
    def representation(images):
        images = _check_images(images, image_shape, "encoder signature representation")
        mean, _ = _split_params(encoder, images, latent_dim)
        return {"mean": mean}

    @tf.function(input_signature=[spec])
    def sample(images):
        images = _check_images(images, image_shape, "encoder signature sample")
        mean, log_var = _split_params(encoder, images, latent_dim)
        eps = tf.random.normal(tf.shape(mean), dtype=mean.dtype)
        return {"z": mean + tf.exp(0.5 * log_var) * eps}

    @tf.function(input_signature=[spec, tf.TensorSpec([2], tf.int64, name="seed")])
    def sample_seeded(images, seed):
        images = _check_images(images, image_shape, "encoder signature sample_seeded")
        mean, log_var = _split_params(encoder, images, latent_dim)
        eps = tf.random.stateless_normal(tf.shape(mean), seed=seed, dtype=mean.dtype)
        return {"z": mean + tf.exp(0.5 * log_var) * eps}

    return {
        "serving_default": serving_default,
        "representation": representation,
        "sample": sample,
        "sample_seeded": sample_seeded,
    }


def decoder_signatures(encoder, decoder, image_shape, latent_dim, likelihood):
    """The decoder's tf.functions, serving_default first."""

    @tf.function(input_signature=[_latents_spec(latent_dim)])
    def serving_default(latents):
        latents = _check_latents(latents, latent_dim, "decoder signature serving_default")
        out = tf.cast(decoder(latents, training=False), tf.float32)
        if likelihood == "bernoulli":
            return {"logits": out, "probabilities": tf.sigmoid(out)}
        return {"mean_image": out}

    @tf.function(input_signature=[_images_spec(image_shape)])
    def reconstruct(images):
        images = _check_images(images, image_shape, "decoder signature reconstruct")
        mean, _ = _split_params(encoder, images, latent_dim)
        return {"reconstruction": _mean_image(decoder, mean, likelihood)}

    return {"serving_default": serving_default, "reconstruct": reconstruct}


def describe_signatures(image_shape, latent_dim, likelihood):
    """The documented signatures as JSON-able dicts: {"encoder": {name: {"inputs":..., "outputs":...}}, ...}.

    Shapes use -1 for the batch dimension, as `saved_model_cli show` prints them.
    """
    img = {"dtype": "float32", "shape": [-1, *image_shape], "range": [0.0, 1.0]}
    lat = {"dtype": "float32", "shape": [-1, latent_dim]}
    out_img = {"dtype": "float32", "shape": [-1, *image_shape]}
    decoded = (
        {"logits": out_img, "probabilities": out_img} if likelihood == "bernoulli" else {"mean_image": out_img}
    )
    return {
        "encoder": {
            "serving_default": {"inputs": {"images": img}, "outputs": {"mean": lat, "log_var": lat}},
            "representation": {"inputs": {"images": img}, "outputs": {"mean": lat}},
            "sample": {"inputs": {"images": img}, "outputs": {"z": lat}},
            "sample_seeded": {
                "inputs": {"images": img, "seed": {"dtype": "int64", "shape": [2]}},
                "outputs": {"z": lat},
            },
        },
        "decoder": {
            "serving_default": {"inputs": {"latents": lat}, "outputs": decoded},
            "reconstruct": {"inputs": {"images": img}, "outputs": {"reconstruction": out_img}},
        },
    }


# ----------------------------------------------------------------------------------------------- warm-up


def warmup_inputs(image_shape, latent_dim, batch=WARMUP_BATCH, seed=0):
    """Valid inputs for every signature: {"encoder": {sig: {input: array}}, "decoder": {...}}."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0.0, 1.0, size=(batch, *image_shape)).astype(np.float32)
    latents = rng.standard_normal((batch, latent_dim)).astype(np.float32)
    return {
        "encoder": {
            "serving_default": {"images": images},
            "representation": {"images": images},
            "sample": {"images": images},
            "sample_seeded": {"images": images, "seed": np.array([0, 1], np.int64)},
        },
        "decoder": {"serving_default": {"latents": latents}, "reconstruct": {"images": images}},
    }


def write_warmup_requests(path, model_name, requests):
    """Write a TFRecord of `PredictionLog`s, one PredictRequest per signature.

    Args:
      path: output file (usually `<version>/assets.extra/tf_serving_warmup_requests`).
      model_name: the TF Serving model name put in each request's model_spec.
      requests: {signature_name: {input_name: np.ndarray}}.
    """
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature_name, inputs in requests.items():
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name)
            )
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def read_warmup_requests(path):
    """The `PredictionLog` protos of a warm-up file, in order."""
    from tensorflow_serving.apis import prediction_log_pb2

    return [
        prediction_log_pb2.PredictionLog.FromString(record.numpy())
        for record in tf.data.TFRecordDataset(str(path))
    ]


# ----------------------------------------------------------------------------------------------- versions


def check_model_name(model_name):
    if not isinstance(model_name, str) or not _MODEL_NAME.match(model_name):
        raise ValueError(
            f"model_name {model_name!r} is not a usable TF Serving model name: use letters, digits, '_', '-' "
            "or '.', starting with a letter or digit (e.g. 'dsprites_beta_vae')."
        )
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
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(model_dir):
    """Delete `.tmp-<version>-<pid>` folders left by exports whose process is gone; returns what was removed."""
    removed = []
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return removed
    for path in model_dir.iterdir():
        if not path.name.startswith(_TMP_PREFIX):
            continue
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


@contextlib.contextmanager
def _base_lock(export_base, model_name):
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
            raise FileExistsError(
                f"version directory {final_dir} appeared during the export; it was left untouched."
            ) from err
        raise


# ----------------------------------------------------------------------------------------------- writing


def _write_saved_model(directory, models, signatures, metadata, warmup_model_name, warmup_requests):
    """Write one SavedModel (endpoints in order; the first becomes serving_default) plus assets.extra files."""
    import keras

    archive = keras.export.ExportArchive()
    for model in models:
        archive.track(model)
    for name, fn in signatures.items():
        archive.add_endpoint(name, fn)
    archive.write_out(str(directory), verbose=False)
    extra = Path(directory) / "assets.extra"
    extra.mkdir(exist_ok=True)
    write_warmup_requests(extra / WARMUP_FILENAME, warmup_model_name, warmup_requests)
    (extra / METADATA_FILENAME).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")


def _infer_shapes(encoder, decoder):
    image_shape = tuple(int(d) for d in encoder.input_shape[1:])
    latent_dim = int(decoder.input_shape[-1])
    enc_out = int(encoder.output_shape[-1])
    if enc_out != 2 * latent_dim:
        raise ValueError(
            f"the encoder outputs {enc_out} numbers per image but the decoder takes {latent_dim} latents; "
            f"expected an encoder output of 2 * latent_dim = {2 * latent_dim} (mean and log-variance halves)."
        )
    if len(image_shape) != 3 or None in image_shape:
        raise ValueError(f"the encoder must take images [batch, H, W, C] with fixed H, W, C; got {encoder.input_shape}")
    return image_shape, latent_dim


def export_encoder_decoder(
    encoder,
    decoder,
    export_base,
    model_name,
    *,
    likelihood="bernoulli",
    version=None,
    source=None,
):
    """Export an encoder and a decoder as two versioned SavedModels for TF Serving.

    Args:
      encoder: keras.Model, images [B, H, W, C] float32 in [0, 1] -> [B, 2 * latent_dim] (mean, log-variance).
      decoder: keras.Model, latents [B, latent_dim] -> [B, H, W, C] (logits for bernoulli, mean otherwise).
      export_base: the folder TF Serving watches; created if missing.
      model_name: base name; the models are `<model_name>_encoder` and `<model_name>_decoder`.
      likelihood: "bernoulli" (decoder outputs logits), "gaussian" or "laplace" (decoder outputs the mean).
      version: explicit version number (must exceed every existing version); default max + 1.
      source: JSON-able dict recorded in assets.extra/tfdisvae.json (run directory, checkpoint, method...).

    Returns:
      ExportResult with the version and both SavedModel directories.
    """
    check_model_name(model_name)
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood {likelihood!r} is not one of {LIKELIHOODS}.")
    image_shape, latent_dim = _infer_shapes(encoder, decoder)
    export_base = Path(export_base)
    export_base.mkdir(parents=True, exist_ok=True)
    names = {"encoder": f"{model_name}_encoder", "decoder": f"{model_name}_decoder"}
    model_dirs = {role: export_base / name for role, name in names.items()}

    with _base_lock(export_base, model_name):
        complete_half_published(export_base, model_name)
        for model_dir in model_dirs.values():
            model_dir.mkdir(exist_ok=True)
            remove_stale_temporaries(model_dir)
        latest = next_version(*model_dirs.values()) - 1
        if version is None:
            version = latest + 1
        elif not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"version must be a positive integer; got {version!r}.")
        elif version <= latest:
            raise FileExistsError(
                f"version {version} is not above the latest existing version {latest} under {export_base} "
                f"({names['encoder']}, {names['decoder']}); versions only grow and are never overwritten. "
                f"Leave --version out to get {latest + 1}."
            )

        signature_docs = describe_signatures(image_shape, latent_dim, likelihood)
        warmups = warmup_inputs(image_shape, latent_dim)
        common = {
            "format_version": 1,
            "model_name": model_name,
            "version": version,
            "image_shape": list(image_shape),
            "latent_dim": latent_dim,
            "likelihood": likelihood,
            "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "source": source or {},
        }
        plans = {
            "encoder": ([encoder], encoder_signatures(encoder, image_shape, latent_dim)),
            "decoder": (
                [encoder, decoder],
                decoder_signatures(encoder, decoder, image_shape, latent_dim, likelihood),
            ),
        }

        tmp_dirs = {role: model_dirs[role] / f"{_TMP_PREFIX}{version}-{os.getpid()}" for role in names}
        final_dirs = {role: model_dirs[role] / str(version) for role in names}
        journal = _journal_path(export_base, model_name, version)
        journaled = False
        try:
            for role, (models, signatures) in plans.items():
                metadata = dict(common, role=role, serving_model_name=names[role],
                                signatures=signature_docs[role])
                _write_saved_model(tmp_dirs[role], models, signatures, metadata, names[role], warmups[role])
                _stage_done(f"{role}_written")
            # Both SavedModels are complete before either is published; from the journal on, the pair is
            # published by this export or, if it dies, by the next one (complete_half_published).
            for role in names:
                if final_dirs[role].exists():
                    raise FileExistsError(f"version directory {final_dirs[role]} already exists; an export "
                                          "never overwrites one.")
            _write_journal(journal, [(tmp_dirs[role], final_dirs[role]) for role in names])
            journaled = True
            _stage_done("journal_written")
            for role in names:
                _publish(tmp_dirs[role], final_dirs[role])
                _stage_done(f"{role}_published")
            journal.unlink()
            _fsync_dir(export_base)
        finally:
            if not journaled:
                for tmp in tmp_dirs.values():
                    shutil.rmtree(tmp, ignore_errors=True)

    return ExportResult(
        version=version,
        encoder_dir=final_dirs["encoder"],
        decoder_dir=final_dirs["decoder"],
        encoder_name=names["encoder"],
        decoder_name=names["decoder"],
    )


def export_model(model, export_base, model_name, *, version=None, source=None):
    """Export a DisentanglingVAE (its `encoder`, `decoder` and `likelihood`); see export_encoder_decoder.

    The exported outputs equal `model.encode_params(x)`, `model.decode_params(z)` / `model.decode_mean(z)` and
    `model.reconstruct(x)`.
    """
    source = dict(source or {})
    source.setdefault("method", getattr(model, "method", None))
    return export_encoder_decoder(model.encoder, model.decoder, export_base, model_name,
                                  likelihood=model.likelihood, version=version, source=source)


def default_model_name(run_dir):
    """A TF Serving model name from a run directory's name: characters outside [A-Za-z0-9_.-] become '_'."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(run_dir).resolve().name).lstrip("_.-")
    return name or "tfdisvae"


def export_run(run_dir, export_base, model_name=None, *, checkpoint=None, version=None):
    """Export a training run's model (latest or a chosen checkpoint) for TF Serving.

    Args:
      run_dir: a run directory written by train.py (config.json, checkpoints/).
      export_base: the folder TF Serving watches.
      model_name: base name of the two served models (default: the run directory's name).
      checkpoint: passed to tfdisvae.runs.load_run (None: the latest checkpoint).
      version: explicit version (must exceed every existing one); default max + 1.

    Returns:
      ExportResult.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(
            f"run directory {run_dir} does not exist; pass --run_dir=<the folder train.py wrote, holding "
            "config.json and checkpoints/>."
        )
    if not (run_dir / "config.json").is_file():
        raise FileNotFoundError(
            f"{run_dir} has no config.json, so it is not a tfdisvae run directory; pass the folder train.py wrote."
        )
    model_name = check_model_name(model_name or default_model_name(run_dir))
    from tfdisvae.runs import load_run

    model, config = load_run(str(run_dir), checkpoint=checkpoint)
    source = {
        "run_dir": str(run_dir.resolve()),
        "checkpoint": None if checkpoint is None else str(checkpoint),
        "method": getattr(config, "model", None),
        "dataset": getattr(config, "dataset", None),
    }
    return export_model(model, export_base, model_name, version=version, source=source)
