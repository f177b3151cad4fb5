"""Writing an export: two SavedModels (ExportArchive endpoints from export.signatures, the warm-up
requests, tfdisvae.json), versioned and published as a pair by export.versions."""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from pathlib import Path

import tensorflow as tf

from tfdisvae.distributions import LIKELIHOODS
from tfdisvae.export import versions
from tfdisvae.export.signatures import (
    NetworkPair,
    describe_signatures,
    signature_functions,
    warmup_inputs,
)

WARMUP_FILENAME = "tf_serving_warmup_requests"
METADATA_FILENAME = "tfdisvae.json"

__all__ = ["METADATA_FILENAME", "WARMUP_FILENAME", "ExportResult", "default_model_name",
           "export_encoder_decoder", "export_model", "export_run", "read_warmup_requests",
           "write_warmup_requests"]


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """Where one export landed: both SavedModel directories and their common version."""

    version: int
    encoder_dir: Path
    decoder_dir: Path
    encoder_name: str
    decoder_name: str


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
            spec = model_pb2.ModelSpec(name=model_name, signature_name=signature_name)
            request = predict_pb2.PredictRequest(model_spec=spec)
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def read_warmup_requests(path):
    """The `PredictionLog` protos of a warm-up file, in order."""
    from tensorflow_serving.apis import prediction_log_pb2

    return [prediction_log_pb2.PredictionLog.FromString(record.numpy())
            for record in tf.data.TFRecordDataset(str(path))]


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
        raise ValueError(f"the encoder outputs {enc_out} numbers per image but the decoder takes "
                         f"{latent_dim} latents; expected an encoder output of 2 * latent_dim = "
                         f"{2 * latent_dim} (mean and log-variance halves).")
    if len(image_shape) != 3 or None in image_shape:
        raise ValueError("the encoder must take images [batch, H, W, C] with fixed H, W, C; got "
                         f"{encoder.input_shape}")
    return image_shape, latent_dim


def export_encoder_decoder(encoder, decoder, export_base, model_name, *, likelihood="bernoulli",
                           version=None, source=None):
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
    return _export(NetworkPair(encoder, decoder, likelihood), encoder, decoder, export_base, model_name,
                   likelihood, version, source)


def export_model(model, export_base, model_name, *, version=None, source=None):
    """Export a DisentanglingVAE; see export_encoder_decoder.

    The signatures call the model's own `encode_params`, `decode_params`, `decode_mean` and `reconstruct`.
    """
    source = dict(source or {})
    source.setdefault("method", getattr(model, "method", None))
    return _export(model, model.encoder, model.decoder, export_base, model_name, model.likelihood,
                   version, source)


def _export(net, encoder, decoder, export_base, model_name, likelihood, version, source):
    versions.check_model_name(model_name)
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood {likelihood!r} is not one of {LIKELIHOODS}.")
    image_shape, latent_dim = _infer_shapes(encoder, decoder)
    export_base = Path(export_base)
    export_base.mkdir(parents=True, exist_ok=True)
    names = {"encoder": f"{model_name}_encoder", "decoder": f"{model_name}_decoder"}
    model_dirs = {role: export_base / name for role, name in names.items()}
    tracked = {"encoder": [encoder], "decoder": [encoder, decoder]}
    with versions.base_lock(export_base, model_name):
        version = versions.claim_version(export_base, model_name, model_dirs, version)
        signature_docs = describe_signatures(image_shape, latent_dim, likelihood)
        warmups = warmup_inputs(image_shape, latent_dim)
        common = {"format_version": 1, "model_name": model_name, "version": version,
                  "image_shape": list(image_shape), "latent_dim": latent_dim, "likelihood": likelihood,
                  "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "source": source or {}}

        def write(role, directory):
            metadata = dict(common, role=role, serving_model_name=names[role],
                            signatures=signature_docs[role])
            functions = signature_functions(net, role, image_shape, latent_dim, likelihood)
            _write_saved_model(directory, tracked[role], functions, metadata, names[role], warmups[role])

        final_dirs = versions.publish_pair(export_base, model_name, version, model_dirs, write)
    return ExportResult(version=version, encoder_dir=final_dirs["encoder"],
                        decoder_dir=final_dirs["decoder"], encoder_name=names["encoder"],
                        decoder_name=names["decoder"])


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
        raise FileNotFoundError(f"run directory {run_dir} does not exist; pass --run_dir=<the folder "
                                "train.py wrote, holding config.json and checkpoints/>.")
    if not (run_dir / "config.json").is_file():
        raise FileNotFoundError(f"{run_dir} has no config.json, so it is not a tfdisvae run directory; "
                                "pass the folder train.py wrote.")
    model_name = versions.check_model_name(model_name or default_model_name(run_dir))
    from tfdisvae.runs import load_run

    model, config = load_run(str(run_dir), checkpoint=checkpoint)
    source = {"run_dir": str(run_dir.resolve()), "checkpoint": None if checkpoint is None else str(checkpoint),
              "method": getattr(config, "model", None), "dataset": getattr(config, "dataset", None)}
    return export_model(model, export_base, model_name, version=version, source=source)
