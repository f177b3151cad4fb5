"""Mixed precision on the CPU: bfloat16 (and float16) hidden layers, float32 variables, outputs and loss.

Correctness only (speed is in benchmarks/train_throughput.py): the policy reaches the hidden layers, the
loss stays finite over a few steps and close to the float32 loss from the same weights, and float16's
loss scaling gives the same update as float32 (SGD, whose step is proportional to the gradient, so a
missing scale or unscale would show as a 2^15-fold error; Adam would hide it).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdisvae import precision
from tfdisvae.models import make_model

SHAPE = (32, 32, 1)


def _images(n=16, seed=0):
    return np.random.default_rng(seed).integers(0, 2, (n, *SHAPE)).astype("float32")


def _model(method, policy, weights=None):
    previous = keras.mixed_precision.dtype_policy()
    # Set directly: precision.set_policy refuses mixed_float16 without a GPU (emulated, slow), but
    # for two small steps it is fine and tests the loss scaling a GPU run relies on.
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        model = make_model(method, latent_dim=3, image_shape=SHAPE, dataset_size=1000, seed=3)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    if weights is not None:
        model.set_weights(weights)
    return model


def _reference_weights(method):
    keras.utils.set_random_seed(0)
    return make_model(method, latent_dim=3, image_shape=SHAPE, dataset_size=1000).get_weights()


@pytest.mark.parametrize("method", ["vae", "factor_vae", "beta_tcvae"])
def test_bfloat16_trains_with_float32_loss(method):
    weights = _reference_weights(method)
    model = _model(method, "mixed_bfloat16", weights)
    assert precision.compute_dtype(model) == "bfloat16"
    with precision.policy_scope("mixed_bfloat16") as name:
        assert name == "mixed_bfloat16"
        assert keras.mixed_precision.dtype_policy().name == "mixed_bfloat16"
    assert keras.mixed_precision.dtype_policy().name == "float32"  # the scope restored it
    assert {v.dtype for v in model.weights if v.trainable} == {"float32"}
    x = _images()
    mean, log_var = model.encode_params(x)
    assert mean.dtype == log_var.dtype == tf.float32
    assert model.decode_params(mean).dtype == tf.float32

    terms_bf16, _ = model.loss_terms(x[:8], step=0)
    reference = _model(method, "float32", weights)
    terms_f32, _ = reference.loss_terms(x[:8], step=0)
    assert terms_bf16["loss"].dtype == tf.float32
    # bfloat16 keeps 8 bits of mantissa: ~0.4% per op; the loss (~710 nats) agrees to 1%.
    np.testing.assert_allclose(terms_bf16["reconstruction"], terms_f32["reconstruction"], rtol=1e-2)

    model.compile()
    history = model.fit(tf.data.Dataset.from_tensor_slices(x).batch(8).repeat(2), epochs=1,
                        verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert np.isfinite([v.numpy() for v in model.trainable_variables][0]).all()


def test_float16_loss_scaling_gives_the_float32_update():
    method = "vae"
    weights = _reference_weights(method)
    x = tf.constant(_images(8))

    def one_sgd_step(policy):
        model = _model(method, policy, weights)
        model.compile(optimizer=keras.optimizers.SGD(1e-3))
        if policy == "mixed_float16":
            assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        model.train_on_batch(x)
        return [w - w0 for w, w0 in zip(model.get_weights(), weights, strict=True)]

    delta_16 = one_sgd_step("mixed_float16")
    delta_32 = one_sgd_step("float32")
    # Largest weight change of the decoder's output layer: float16 hidden layers agree to ~1e-3.
    for d16, d32 in zip(delta_16, delta_32, strict=True):
        if d32.size > 1 and np.abs(d32).max() > 1e-5:
            ratio = np.abs(d16).max() / np.abs(d32).max()
            assert 0.9 < ratio < 1.1, ratio


def test_resolve_policy():
    assert precision.resolve_policy(None) == "float32"
    assert precision.resolve_policy("none") == "float32"
    assert precision.resolve_policy("mixed_bfloat16") == "mixed_bfloat16"
    expected = "mixed_bfloat16" if precision.cpu_has_native_bfloat16() else "float32"
    if not tf.config.list_physical_devices("GPU"):
        assert precision.resolve_policy("auto") == expected
        with pytest.raises(ValueError, match="mixed_float16 needs a GPU"):
            precision.resolve_policy("mixed_float16")
    with pytest.raises(ValueError, match="choose one of auto, none, float32"):
        precision.resolve_policy("float8")
