"""serving/client.py against TEST DOUBLES of TF Serving (REST on 127.0.0.1, gRPC from the official protos).

The doubles (tests/serving/conftest.py) run the exported SavedModels with tf.saved_model.load; the client must
return what the in-process Keras networks compute, over both protocols and both JSON formats.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

ATOL = 1e-5


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).uniform(0, 1, size=(5, 8, 8, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def servers(toy_export, doubles):
    _, _, _, base = toy_export
    with doubles.RestServingDouble(base) as rest, doubles.GrpcServingDouble(base) as grpc_server:
        yield rest, grpc_server


def _expected(encoder, decoder, images):
    params = encoder(images).numpy()
    mean, log_var = params[:, :3], params[:, 3:]
    logits = decoder(mean).numpy()
    return mean, log_var, logits


@pytest.mark.parametrize("protocol", ["rest-inputs", "rest-instances", "grpc"])
def test_client_matches_in_process_networks(protocol, servers, toy_export, client_module, images):
    result, encoder, decoder, _ = toy_export
    rest, grpc_server = servers
    if protocol == "grpc":
        enc = client_module.GrpcClient(result.encoder_name, target=grpc_server.target)
        dec = client_module.GrpcClient(result.decoder_name, target=grpc_server.target)
    else:
        fmt = protocol.split("-")[1]
        enc = client_module.RestClient(result.encoder_name, url=rest.url, request_format=fmt)
        dec = client_module.RestClient(result.decoder_name, url=rest.url, request_format=fmt)
    mean, log_var, logits = _expected(encoder, decoder, images)

    got_mean, got_log_var = enc.encode(images)
    assert got_mean.dtype == np.float32 and got_mean.shape == (5, 3)
    np.testing.assert_allclose(got_mean, mean, atol=ATOL)
    np.testing.assert_allclose(got_log_var, log_var, atol=ATOL)
    np.testing.assert_allclose(enc.representation(images), mean, atol=ATOL)

    decoded = dec.decode(mean)
    np.testing.assert_allclose(decoded["logits"], logits, atol=ATOL)
    np.testing.assert_allclose(decoded["probabilities"], 1 / (1 + np.exp(-logits)), atol=ATOL)
    np.testing.assert_allclose(dec.reconstruct(images), 1 / (1 + np.exp(-logits)), atol=ATOL)

    # A stateful sample differs between calls but is centred on the mean: |z - mean| / std stays moderate.
    z = enc.sample(images)
    assert z.shape == (5, 3) and np.all(np.abs(z - mean) / np.exp(0.5 * log_var) < 8)
    if protocol != "rest-instances":  # the seed has no batch axis: columnar JSON or gRPC only
        seeded = enc.sample(images, seed=[3, 4])
        eps = tf.random.stateless_normal([5, 3], seed=tf.constant([3, 4], tf.int64)).numpy()
        np.testing.assert_allclose(seeded, mean + np.exp(0.5 * log_var) * eps, atol=ATOL)


def test_rest_and_grpc_agree_and_report_the_served_signatures(servers, toy_export, client_module, images):
    result, _, _, _ = toy_export
    rest, grpc_server = servers
    rest_client = client_module.RestClient(result.encoder_name, url=rest.url)
    grpc_client = client_module.GrpcClient(result.encoder_name, target=grpc_server.target)
    np.testing.assert_array_equal(rest_client.representation(images), grpc_client.representation(images))
    assert rest_client.signatures() == grpc_client.signatures()
    assert set(rest_client.signatures()) == {"serving_default", "representation", "sample", "sample_seeded"}
    assert rest_client.signatures()["serving_default"]["inputs"] == {"images": {"dtype": "float32",
                                                                                "shape": [-1, 8, 8, 1]}}
    # The metadata the export writes has the same form and can stand in for the server's.
    documented = json.loads((result.encoder_dir / "assets.extra" / "tfdisvae.json").read_text())["signatures"]
    offline = client_module.RestClient(result.encoder_name, url=rest.url, signatures=documented)
    assert offline.signatures() == rest_client.signatures()


@pytest.mark.parametrize(
    ("bad", "error", "fragment"),
    [
        (lambda x: (x * 255).astype(np.uint8), TypeError, "images.astype(np.float32) / 255"),
        (lambda x: x[0], ValueError, "batch axis"),
        (lambda x: np.repeat(x, 3, axis=-1), ValueError, "float32 [-1, 8, 8, 1]"),
        (lambda x: x[:, :4], ValueError, "float32 [-1, 8, 8, 1]"),
        (lambda x: x * 2.0, ValueError, "values in [0, 1]"),
    ],
)
def test_client_rejects_bad_images_before_any_request(bad, error, fragment, toy_export, client_module, images):
    result, _, _, _ = toy_export
    documented = json.loads((result.encoder_dir / "assets.extra" / "tfdisvae.json").read_text())["signatures"]
    # Port 9 on loopback (discard) has no server: a request would raise ServingError, not the error expected.
    client = client_module.RestClient(result.encoder_name, url="http://127.0.0.1:9", signatures=documented)
    with pytest.raises(error) as info:
        client.representation(bad(images))
    message = str(info.value)
    assert fragment in message and "signature 'representation'" in message
    with pytest.raises(client_module.ServingError):
        client.representation(images)  # proves the valid call would have gone out


def test_model_itself_rejects_bad_inputs_over_both_protocols(servers, toy_export, images):
    """Bypass the client's checks: the signature's own asserts answer INVALID_ARGUMENT / HTTP 400."""
    import urllib.error
    import urllib.request

    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    result, _, _, _ = toy_export
    rest, grpc_server = servers
    two_channels = np.repeat(images, 2, axis=-1)
    body = json.dumps({"signature_name": "representation", "inputs": {"images": two_channels.tolist()}}).encode()
    request = urllib.request.Request(f"{rest.url}/v1/models/{result.encoder_name}:predict", data=body)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=30)
    assert info.value.code == 400
    assert "expects images: float32 [batch, 8, 8, 1]" in json.loads(info.value.read())["error"]

    with grpc.insecure_channel(grpc_server.target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        req = predict_pb2.PredictRequest()
        req.model_spec.name = result.decoder_name
        req.inputs["latents"].CopyFrom(tf.make_tensor_proto(np.full((2, 3), np.nan, np.float32)))
        with pytest.raises(grpc.RpcError) as info:
            stub.Predict(req, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "NaN or infinite" in info.value.details()


def test_versions_latest_is_served_and_older_ones_stay_addressable(tmp_path, doubles, client_module, images):
    from tfdisvae import export

    first = doubles.make_toy_networks(seed=0)
    second = doubles.make_toy_networks(seed=1)
    export.export_encoder_decoder(*first, tmp_path, "m")
    export.export_encoder_decoder(*second, tmp_path, "m")
    with doubles.RestServingDouble(tmp_path) as rest:
        latest = client_module.RestClient("m_encoder", url=rest.url).representation(images)
        v1 = client_module.RestClient("m_encoder", url=rest.url, version=1).representation(images)
        np.testing.assert_allclose(latest, second[0](images).numpy()[:, :3], atol=ATOL)
        np.testing.assert_allclose(v1, first[0](images).numpy()[:, :3], atol=ATOL)
        with pytest.raises(client_module.ServingError, match="HTTP 404"):
            client_module.RestClient("m_encoder", url=rest.url, version=7).representation(images)


def test_command_line_writes_outputs(servers, toy_export, client_module, images, tmp_path, capsys):
    result, encoder, _, _ = toy_export
    _, grpc_server = servers
    np.save(tmp_path / "images.npy", images)
    code = client_module.main([
        "--model_name", result.encoder_name, "--images", str(tmp_path / "images.npy"), "--signature",
        "representation", "--protocol", "grpc", "--address", grpc_server.target, "--output", str(tmp_path / "z.npz"),
    ])
    assert code == 0 and "mean: float32 [5, 3]" in capsys.readouterr().out
    np.testing.assert_allclose(np.load(tmp_path / "z.npz")["mean"], encoder(images).numpy()[:, :3], atol=ATOL)
    np.save(tmp_path / "bad.npy", images[..., 0])
    assert client_module.main(["--model_name", result.encoder_name, "--images", str(tmp_path / "bad.npy"),
                               "--protocol", "grpc", "--address", grpc_server.target]) == 1
    assert "expects images: float32 [-1, 8, 8, 1]" in capsys.readouterr().err
