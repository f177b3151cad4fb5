"""Clients for tfdisvae models on TensorFlow Serving: numpy images in, numpy latents out, over REST or gRPC.

Standalone: the REST client needs only numpy and the standard library; the gRPC client needs grpcio and
tensorflow-serving-api (which bring TensorFlow). Nothing here imports tfdisvae.

    from client import RestClient, GrpcClient
    encoder = RestClient("dsprites_encoder", url="http://localhost:8501")
    mean, log_var = encoder.encode(images)            # images: float32 [batch, H, W, C] in [0, 1]
    z = encoder.representation(images)                # [batch, latent_dim]
    decoder = GrpcClient("dsprites_decoder", target="localhost:8500")
    probabilities = decoder.decode(z)["probabilities"]

Inputs are checked against the model's signature before any request: names, dtype, rank, every fixed
dimension (the channel count included) and, for `images`, the value range [0, 1]. The signature comes from the
server's metadata endpoint (`/v1/models/<name>/metadata`, gRPC GetModelMetadata) on first use, or from the
`signatures` argument (the "signatures" entry of the export's assets.extra/tfdisvae.json has that form).

Command line (writes every output of the signature into one .npz):

    python serving/client.py --model_name dsprites_encoder --images images.npy --signature representation \
        --protocol grpc --address localhost:8500 --output latents.npz
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

import numpy as np

# TF DataType enum names <-> numpy dtypes, for the dtypes tfdisvae signatures use.
_DT_TO_NUMPY = {"DT_FLOAT": "float32", "DT_DOUBLE": "float64", "DT_INT32": "int32", "DT_INT64": "int64"}
_DT_NUMBER = {"DT_FLOAT": 1, "DT_DOUBLE": 2, "DT_INT32": 3, "DT_INT64": 9}
_NUMBER_TO_DT = {v: k for k, v in _DT_NUMBER.items()}
_MAX_MESSAGE_BYTES = 256 * 1024 * 1024


class ServingError(RuntimeError):
    """The server answered with an error (bad request, unknown model or version, unreachable server)."""


# ----------------------------------------------------------------------------------------------- signatures


def parse_signature_def_map(signature_def_map):
    """A SignatureDefMap in TF Serving's JSON form -> {name: {"inputs": {k: spec}, "outputs": {k: spec}}}.

    spec = {"dtype": numpy dtype name, "shape": [dims, -1 for any]} (shape None when the rank is unknown).
    Accepts the REST metadata's `metadata.signature_def` object or json_format.MessageToDict of the proto.
    """
    defs = signature_def_map.get("signature_def", signature_def_map)
    parsed = {}
    for name, sig in defs.items():
        if name.startswith("__"):  # __saved_model_init_op
            continue
        parsed[name] = {side: {key: _parse_tensor_info(info) for key, info in sig.get(side, {}).items()}
                        for side in ("inputs", "outputs")}
    return parsed


def _parse_tensor_info(info):
    dtype = info.get("dtype", "DT_INVALID")
    if isinstance(dtype, int):
        dtype = _NUMBER_TO_DT.get(dtype, "DT_INVALID")
    shape_proto = info.get("tensor_shape", {})
    shape = None if shape_proto.get("unknown_rank") else [int(d.get("size", -1)) for d in shape_proto.get("dim", [])]
    return {"dtype": _DT_TO_NUMPY.get(dtype, dtype), "shape": shape}


def describe(spec):
    """'float32 [-1, 64, 64, 1]' for error messages."""
    shape = "unknown rank" if spec.get("shape") is None else str(list(spec["shape"]))
    return f"{spec['dtype']} {shape}"


def check_inputs(inputs, signature, where):
    """Validate and convert numpy inputs against a parsed signature; returns {name: np.ndarray} ready to send.

    Raises:
      ValueError: a missing or unexpected input name.
      TypeError: a dtype that cannot be converted without changing meaning (integers for a float input).
      ValueError: wrong rank or dimension, or `images` outside [0, 1] / not finite.
    """
    expected = ", ".join(f"{k}: {describe(s)}" for k, s in signature["inputs"].items())
    missing = set(signature["inputs"]) - set(inputs)
    extra = set(inputs) - set(signature["inputs"])
    if missing or extra:
        raise ValueError(f"{where} expects inputs {{{expected}}}; missing {sorted(missing)}, unexpected {sorted(extra)}.")
    checked = {}
    for key, spec in signature["inputs"].items():
        value = np.asarray(inputs[key])
        want = np.dtype(spec["dtype"])
        got = f"got {value.dtype} array of shape {value.shape}"
        if np.issubdtype(want, np.floating):
            if not np.issubdtype(value.dtype, np.floating):
                hint = " (scale uint8 images: images.astype(np.float32) / 255)" if key == "images" else ""
                raise TypeError(f"{where} expects {key}: {describe(spec)}{hint}; {got}.")
        elif np.issubdtype(want, np.integer) and not np.issubdtype(value.dtype, np.integer):
            raise TypeError(f"{where} expects {key}: {describe(spec)}; {got}.")
        shape = spec["shape"]
        if shape is not None:
            wrong_rank = value.ndim != len(shape)
            wrong_dims = not wrong_rank and any(s not in (-1, v) for s, v in zip(shape, value.shape, strict=True))
            if wrong_rank or wrong_dims:
                hint = ""
                if wrong_rank and value.ndim == len(shape) - 1 and shape[0] == -1:
                    hint = f" (a single example needs a batch axis: {key}[None])"
                raise ValueError(f"{where} expects {key}: {describe(spec)}{hint}; {got}.")
        value = value.astype(want, copy=False)
        if key == "images" and value.size and not (np.all(value >= 0.0) and np.all(value <= 1.0)):
            raise ValueError(
                f"{where} expects images with values in [0, 1] ({describe(spec)}); got min {np.nanmin(value)}, "
                f"max {np.nanmax(value)}{', NaN present' if np.isnan(value).any() else ''}."
            )
        checked[key] = value
    return checked


# ----------------------------------------------------------------------------------------------- clients


class _Client:
    """Shared surface: signature look-up, validation and the tfdisvae-specific shortcuts."""

    def __init__(self, model_name, version=None, signatures=None, timeout=30.0):
        self.model_name = model_name
        self.version = None if version is None else int(version)
        self.timeout = float(timeout)
        self._signatures = None if signatures is None else _normalise(signatures)

    def signatures(self):
        """{signature_name: {"inputs": {...}, "outputs": {...}}}, fetched from the server once."""
        if self._signatures is None:
            self._signatures = self._fetch_signatures()
        return self._signatures

    def _where(self, signature_name):
        version = "" if self.version is None else f" version {self.version}"
        return f"model '{self.model_name}'{version} signature '{signature_name}'"

    def predict(self, inputs, signature_name="serving_default"):
        """Run one signature. inputs: {name: array} or a single array for a one-input signature.

        Returns {output_name: np.ndarray}. Inputs are validated before any request (see check_inputs).
        """
        signatures = self.signatures()
        if signature_name not in signatures:
            raise KeyError(f"model '{self.model_name}' has no signature '{signature_name}'; it has {sorted(signatures)}.")
        signature = signatures[signature_name]
        if not isinstance(inputs, dict):
            if len(signature["inputs"]) != 1:
                raise ValueError(f"{self._where(signature_name)} takes several inputs {sorted(signature['inputs'])}: "
                               "pass a dict.")
            inputs = {next(iter(signature["inputs"])): inputs}
        checked = check_inputs(inputs, signature, self._where(signature_name))
        return self._predict(checked, signature_name, signature)

    # tfdisvae shortcuts (encoder and decoder SavedModels written by tfdisvae.export)
    def encode(self, images):
        """images [batch, H, W, C] in [0, 1] -> (mean, log_var), each [batch, latent_dim]."""
        out = self.predict({"images": images}, "serving_default")
        return out["mean"], out["log_var"]

    def representation(self, images):
        """images -> posterior mean [batch, latent_dim]."""
        return self.predict({"images": images}, "representation")["mean"]

    def sample(self, images, seed=None):
        """images -> z ~ q(z|x) [batch, latent_dim]; with seed (two ints) the draw is reproducible."""
        if seed is None:
            return self.predict({"images": images}, "sample")["z"]
        return self.predict({"images": images, "seed": np.asarray(seed, np.int64)}, "sample_seeded")["z"]

    def decode(self, latents):
        """latents [batch, latent_dim] -> {"logits", "probabilities"} (bernoulli) or {"mean_image"}."""
        return self.predict({"latents": latents}, "serving_default")

    def reconstruct(self, images):
        """images -> reconstruction [batch, H, W, C] (mean image decoded from the posterior mean)."""
        return self.predict({"images": images}, "reconstruct")["reconstruction"]


def _normalise(signatures):
    """Accept tfdisvae.json's "signatures" (same form) and drop extra keys such as "range"."""
    return {name: {side: {k: {"dtype": s["dtype"], "shape": s.get("shape")} for k, s in sig[side].items()}
                   for side in ("inputs", "outputs")} for name, sig in signatures.items()}


class RestClient(_Client):
    """TF Serving's REST API (port 8501 by default): JSON `inputs` (columnar) or `instances` (row) requests."""

    def __init__(self, model_name, url="http://localhost:8501", version=None, signatures=None, timeout=30.0,
                 request_format="inputs"):
        super().__init__(model_name, version, signatures, timeout)
        if request_format not in ("inputs", "instances"):
            raise ValueError(f"request_format must be 'inputs' (columnar) or 'instances' (row); got {request_format!r}.")
        self.url = url.rstrip("/")
        self.request_format = request_format

    def _model_url(self):
        version = "" if self.version is None else f"/versions/{self.version}"
        return f"{self.url}/v1/models/{self.model_name}{version}"

    def _call(self, url, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            try:
                message = json.loads(err.read()).get("error", "")
            except ValueError:
                message = ""
            raise ServingError(f"{url} answered HTTP {err.code}: {message or err.reason}") from err
        except urllib.error.URLError as err:
            raise ServingError(f"cannot reach {url}: {err.reason}. Is tensorflow_model_server running?") from err

    def _fetch_signatures(self):
        reply = self._call(self._model_url() + "/metadata")
        return parse_signature_def_map(reply["metadata"]["signature_def"])

    def _predict(self, inputs, signature_name, signature):
        body = {"signature_name": signature_name}
        if self.request_format == "inputs":
            body["inputs"] = {k: v.tolist() for k, v in inputs.items()}
        else:
            sizes = {v.shape[0] for v in inputs.values() if v.ndim}
            if len(sizes) != 1 or any(v.ndim == 0 for v in inputs.values()):
                raise ValueError(f"{self._where(signature_name)}: row format ('instances') needs every input to share "
                                 "the batch axis; use request_format='inputs'.")
            lists = {k: v.tolist() for k, v in inputs.items()}
            body["instances"] = [{k: lists[k][i] for k in lists} for i in range(sizes.pop())]
        reply = self._call(self._model_url() + ":predict", body)
        output_names = list(signature["outputs"])
        dtypes = {k: s["dtype"] for k, s in signature["outputs"].items()}
        if "outputs" in reply:
            outputs = reply["outputs"]
            if not isinstance(outputs, dict):  # a single output is returned without its name
                outputs = {output_names[0]: outputs}
        else:
            rows = reply["predictions"]
            if rows and not isinstance(rows[0], dict):
                rows = [{output_names[0]: row} for row in rows]
            outputs = {k: [row[k] for row in rows] for k in output_names}
        return {k: np.asarray(v, dtype=dtypes.get(k)) for k, v in outputs.items()}


class GrpcClient(_Client):
    """TF Serving's gRPC PredictionService (port 8500 by default)."""

    def __init__(self, model_name, target="localhost:8500", version=None, signatures=None, timeout=30.0):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        super().__init__(model_name, version, signatures, timeout)
        self.target = target
        self._channel = grpc.insecure_channel(target, options=[
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
        ])
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _model_spec(self, spec, signature_name=None):
        spec.name = self.model_name
        if signature_name is not None:
            spec.signature_name = signature_name
        if self.version is not None:
            spec.version.value = self.version

    def _rpc(self, method, request):
        import grpc

        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as err:
            raise ServingError(f"{self.target} answered {err.code().name}: {err.details()}") from err

    def _fetch_signatures(self):
        from google.protobuf import json_format
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest()
        self._model_spec(request.model_spec)
        request.metadata_field.append("signature_def")
        reply = self._rpc(self._stub.GetModelMetadata, request)
        sig_map = get_model_metadata_pb2.SignatureDefMap()
        reply.metadata["signature_def"].Unpack(sig_map)
        return parse_signature_def_map(json_format.MessageToDict(sig_map, preserving_proto_field_name=True))

    def _predict(self, inputs, signature_name, signature):
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        self._model_spec(request.model_spec, signature_name)
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        reply = self._rpc(self._stub.Predict, request)
        return {k: tf.make_ndarray(v) for k, v in reply.outputs.items()}


# ----------------------------------------------------------------------------------------------- command line


def _flag_values():
    """The command line's flags (absl, imported here: the clients themselves need only numpy)."""
    from absl import flags

    fv = flags.FlagValues()
    flags.DEFINE_string("model_name", None, "e.g. dsprites_encoder or dsprites_decoder", flag_values=fv)
    flags.DEFINE_string("images", None, ".npy of float32 images [batch, H, W, C] in [0, 1]", flag_values=fv)
    flags.DEFINE_string("latents", None, ".npy of float32 latents [batch, latent_dim] (decoder)",
                        flag_values=fv)
    flags.DEFINE_string("signature", "serving_default", "signature to run", flag_values=fv)
    flags.DEFINE_enum("protocol", "rest", ["rest", "grpc"], "rest or grpc", flag_values=fv)
    flags.DEFINE_string("address", None, "REST url (default http://localhost:8501) or gRPC host:port "
                        "(default localhost:8500)", flag_values=fv)
    flags.DEFINE_integer("version", None, "a model version; default: what the server serves", flag_values=fv)
    flags.DEFINE_string("output", None, "write every output into this .npz", flag_values=fv)
    flags.DEFINE_float("timeout", 30.0, "seconds per request", flag_values=fv)
    flags.mark_flag_as_required("model_name", flag_values=fv)
    return fv


def main(argv=None):
    """The command line; argv: the arguments after the program name (default sys.argv[1:]).

    Returns the exit status: 0, 1 when the server or the inputs refuse the request, 2 for bad flags.
    """
    from absl import flags

    args = _flag_values()
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(arg in ("-h", "-help", "--help", "--helpshort", "--helpfull") for arg in argv):
        print("usage: serving/client.py [--flag=value ...]")
        print(args.get_help(include_special_flags=False))
        return 0
    try:
        rest = args(["serving/client.py", *argv])[1:]
        if rest:
            raise flags.Error(f"unexpected arguments {' '.join(rest)}; every setting is a --flag")
        if not (args.images or args.latents):
            raise flags.Error("give --images or --latents")
    except flags.Error as err:
        print(f"serving/client.py: error: {err}", file=sys.stderr)
        return 2
    inputs = {}
    if args.images:
        inputs["images"] = np.load(args.images)
    if args.latents:
        inputs["latents"] = np.load(args.latents)
    if args.protocol == "rest":
        client = RestClient(args.model_name, url=args.address or "http://localhost:8501", version=args.version,
                            timeout=args.timeout)
    else:
        client = GrpcClient(args.model_name, target=args.address or "localhost:8500", version=args.version,
                            timeout=args.timeout)
    try:
        outputs = client.predict(inputs, args.signature)
    except (ServingError, KeyError, TypeError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for key, value in outputs.items():
        print(f"{key}: {value.dtype} {list(value.shape)}")
    if args.output:
        np.savez(args.output, **outputs)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
