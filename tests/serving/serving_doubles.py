"""TEST DOUBLES of TensorFlow Serving (no real server can be installed here) and a toy encoder/decoder.

`RestServingDouble` and `GrpcServingDouble` are test doubles, not servers to deploy: they listen on 127.0.0.1
only, on a free port, with a bounded thread pool, and serve SavedModels from a TF Serving model base with
`tf.saved_model.load`. They speak the parts of TF Serving's APIs the client uses:

    REST  GET  /v1/models/<name>[/versions/<n>]/metadata   -> {"model_spec", "metadata": {"signature_def": ...}}
          POST /v1/models/<name>[/versions/<n>]:predict    -> row `instances` -> `predictions`,
                                                              columnar `inputs` -> `outputs`
    gRPC  tensorflow.serving.PredictionService/Predict and /GetModelMetadata (official protos)

Without a version they serve the highest integer version, like TF Serving's default "latest" policy.
"""

from __future__ import annotations

import concurrent.futures
import http.server
import json
import re
import threading
from pathlib import Path

import numpy as np
import tensorflow as tf


class _ModelStore:
    """SavedModels of a TF Serving model base, loaded on first use: {(name, version): loaded}."""

    def __init__(self, export_base):
        self.export_base = Path(export_base)
        self._loaded = {}
        self._lock = threading.Lock()

    def resolve(self, name, version=None):
        model_dir = self.export_base / name
        versions = sorted(int(p.name) for p in model_dir.glob("*") if p.is_dir() and p.name.isdigit())
        if not versions:
            raise LookupError(f"Servable not found for request: Latest({name})")
        if version is None:
            version = versions[-1]
        if version not in versions:
            raise LookupError(f"Servable not found for request: Specific({name}, {version})")
        with self._lock:
            key = (name, version)
            if key not in self._loaded:
                self._loaded[key] = tf.saved_model.load(str(model_dir / str(version)))
            return version, self._loaded[key], model_dir / str(version)

    def signature_def_map(self, name, version=None):
        from tensorflow.core.protobuf import saved_model_pb2
        from tensorflow_serving.apis import get_model_metadata_pb2

        version, _, path = self.resolve(name, version)
        saved = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
        sig_map = get_model_metadata_pb2.SignatureDefMap()
        for key, sig in saved.meta_graphs[0].signature_def.items():
            sig_map.signature_def[key].CopyFrom(sig)
        return version, sig_map

    def predict(self, name, version, signature_name, inputs):
        """inputs: {key: nested lists or arrays} -> {key: np.ndarray}. Raises KeyError / InvalidArgumentError."""
        version, loaded, _ = self.resolve(name, version)
        if signature_name not in loaded.signatures:
            raise KeyError(f"Serving signature name: \"{signature_name}\" not found in signature def")
        fn = loaded.signatures[signature_name]
        specs = fn.structured_input_signature[1]
        if set(inputs) != set(specs):
            raise KeyError(f"expected inputs {sorted(specs)}, got {sorted(inputs)}")
        tensors = {k: tf.constant(np.asarray(v, dtype=specs[k].dtype.as_numpy_dtype)) for k, v in inputs.items()}
        return version, {k: v.numpy() for k, v in fn(**tensors).items()}


class RestServingDouble:
    """TEST DOUBLE of tensorflow_model_server's REST API on 127.0.0.1 (see the module docstring)."""

    _ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?(?P<verb>:predict|/metadata)$")

    def __init__(self, export_base):
        self.store = _ModelStore(export_base)
        store = self.store

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output quiet
                pass

            def _reply(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self):
                match = RestServingDouble._ROUTE.match(self.path)
                if not match:
                    self._reply(404, {"error": f"Malformed request: {self.command} {self.path}"})
                    return None
                version = match["version"]
                return match["name"], None if version is None else int(version), match["verb"]

            def do_GET(self):
                route = self._route()
                if route is None:
                    return
                name, version, verb = route
                if verb != "/metadata":
                    self._reply(404, {"error": "predict needs POST"})
                    return
                from google.protobuf import json_format

                try:
                    version, sig_map = store.signature_def_map(name, version)
                except LookupError as err:
                    self._reply(404, {"error": str(err)})
                    return
                self._reply(200, {
                    "model_spec": {"name": name, "signature_name": "", "version": str(version)},
                    "metadata": {"signature_def": json_format.MessageToDict(sig_map, preserving_proto_field_name=True)},
                })

            def do_POST(self):
                route = self._route()
                if route is None:
                    return
                name, version, verb = route
                if verb != ":predict":
                    self._reply(404, {"error": "metadata needs GET"})
                    return
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                    signature_name = body.get("signature_name", "serving_default")
                    if ("instances" in body) == ("inputs" in body):
                        raise ValueError("JSON object: one of 'instances' or 'inputs' is expected")
                    _, loaded, _ = store.resolve(name, version)
                    input_keys = list(loaded.signatures[signature_name].structured_input_signature[1]) \
                        if signature_name in loaded.signatures else []
                    if "inputs" in body:
                        inputs = body["inputs"]
                        if not isinstance(inputs, dict):
                            inputs = {input_keys[0]: inputs} if len(input_keys) == 1 else {}
                    else:
                        rows = body["instances"]
                        if rows and not isinstance(rows[0], dict):
                            rows = [{input_keys[0]: row} for row in rows] if len(input_keys) == 1 else []
                        inputs = {k: [row[k] for row in rows] for k in (rows[0] if rows else {})}
                    _, outputs = store.predict(name, version, signature_name, inputs)
                except LookupError as err:
                    self._reply(404, {"error": str(err)})
                    return
                except (KeyError, ValueError, tf.errors.InvalidArgumentError) as err:
                    message = getattr(err, "message", None) or str(err)
                    self._reply(400, {"error": message})
                    return
                if "inputs" in body:
                    reply = {k: v.tolist() for k, v in outputs.items()}
                    self._reply(200, {"outputs": next(iter(reply.values())) if len(reply) == 1 else reply})
                else:
                    lists = {k: v.tolist() for k, v in outputs.items()}
                    n = len(next(iter(lists.values())))
                    if len(lists) == 1:
                        predictions = next(iter(lists.values()))
                    else:
                        predictions = [{k: lists[k][i] for k in lists} for i in range(n)]
                    self._reply(200, {"predictions": predictions})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="rest-serving-double", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


class GrpcServingDouble:
    """TEST DOUBLE of tensorflow_model_server's gRPC PredictionService on 127.0.0.1 (official protos)."""

    def __init__(self, export_base):
        import grpc
        from tensorflow_serving.apis import (
            get_model_metadata_pb2,
            predict_pb2,
            prediction_service_pb2_grpc,
        )

        store = self.store = _ModelStore(export_base)

        def version_of(spec):
            return spec.version.value if spec.HasField("version") else None

        class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
            def Predict(self, request, context):  # noqa: N802 (gRPC method name)
                try:
                    inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
                    version, outputs = store.predict(request.model_spec.name, version_of(request.model_spec),
                                                     request.model_spec.signature_name or "serving_default", inputs)
                except LookupError as err:
                    context.abort(grpc.StatusCode.NOT_FOUND, str(err))
                except (KeyError, ValueError, tf.errors.InvalidArgumentError) as err:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, getattr(err, "message", None) or str(err))
                reply = predict_pb2.PredictResponse()
                reply.model_spec.name = request.model_spec.name
                reply.model_spec.version.value = version
                for key, value in outputs.items():
                    reply.outputs[key].CopyFrom(tf.make_tensor_proto(value))
                return reply

            def GetModelMetadata(self, request, context):  # noqa: N802
                if list(request.metadata_field) != ["signature_def"]:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, "only signature_def metadata is supported")
                try:
                    version, sig_map = store.signature_def_map(request.model_spec.name, version_of(request.model_spec))
                except LookupError as err:
                    context.abort(grpc.StatusCode.NOT_FOUND, str(err))
                reply = get_model_metadata_pb2.GetModelMetadataResponse()
                reply.model_spec.name = request.model_spec.name
                reply.model_spec.version.value = version
                reply.metadata["signature_def"].Pack(sig_map)
                return reply

        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self.server = grpc.server(self._executor)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.target = f"127.0.0.1:{port}"

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *exc):
        self.server.stop(grace=None).wait(timeout=10)
        self._executor.shutdown(wait=False)


# ----------------------------------------------------------------------------------------------- toy networks


def make_toy_networks(image_shape=(8, 8, 1), latent_dim=3, seed=0):
    """A small encoder/decoder pair with the tfdisvae network contract (no training needed to compare outputs)."""
    import keras

    keras.utils.set_random_seed(seed)
    images = keras.Input(image_shape, name="images")
    h = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(keras.layers.Rescaling(1.0)(images))
    params = keras.layers.Dense(2 * latent_dim)(keras.layers.Flatten()(h))
    encoder = keras.Model(images, params, name="toy_encoder")
    z = keras.Input((latent_dim,), name="z")
    h = keras.layers.Dense(int(np.prod(image_shape)))(z)
    decoder = keras.Model(z, keras.layers.Reshape(image_shape)(h), name="toy_decoder")
    return encoder, decoder
