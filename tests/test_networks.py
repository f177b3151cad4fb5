"""Encoders, decoders and the discriminator: shapes, hand-counted sizes, validation, save/load, XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdisvae import networks


@pytest.mark.parametrize("arch", networks.ARCHITECTURES)
@pytest.mark.parametrize("image_shape", networks.SUPPORTED_IMAGE_SHAPES)
def test_shapes(arch, image_shape):
    enc = networks.make_encoder(arch, image_shape, 6)
    dec = networks.make_decoder(arch, image_shape, 6)
    x = np.random.default_rng(0).uniform(size=(3, *image_shape)).astype(np.float32)
    out = enc(x)
    assert out.shape == (3, 12)
    assert dec(out[:, :6]).shape == (3, *image_shape)


def test_parameter_counts_match_hand_counts():
    # burgess 64x64x1, D=10. Encoder: conv 4*4*1*32+32, 3 x (4*4*32*32+32), dense 512*256+256,
    # 256*256+256, head 256*20+20.
    enc = 4 * 4 * 32 + 32 + 3 * (4 * 4 * 32 * 32 + 32) + (512 * 256 + 256) + (256 * 256 + 256) + 256 * 20 + 20
    dec = (10 * 256 + 256) + (256 * 256 + 256) + (256 * 512 + 512) + 3 * (4 * 4 * 32 * 32 + 32) + 4 * 4 * 32 + 1
    assert networks.make_encoder("burgess", (64, 64, 1), 10).count_params() == enc
    assert networks.make_decoder("burgess", (64, 64, 1), 10).count_params() == dec
    # locatello 64x64x3, D=10: 3->32 k4, 32->32 k4, 32->64 k2, 64->64 k2, 4*4*64 -> 256 -> 20.
    enc = (4 * 4 * 3 * 32 + 32) + (4 * 4 * 32 * 32 + 32) + (2 * 2 * 32 * 64 + 64) + (2 * 2 * 64 * 64 + 64) \
        + (1024 * 256 + 256) + (256 * 20 + 20)
    dec = (10 * 256 + 256) + (256 * 1024 + 1024) + (4 * 4 * 64 * 64 + 64) + (4 * 4 * 64 * 32 + 32) \
        + (4 * 4 * 32 * 32 + 32) + (4 * 4 * 32 * 3 + 3)
    assert networks.make_encoder("locatello", (64, 64, 3), 10).count_params() == enc
    assert networks.make_decoder("locatello", (64, 64, 3), 10).count_params() == dec
    # FactorVAE discriminator: 10 -> 6 x 1000 (LeakyReLU) -> 2.
    disc = (10 * 1000 + 1000) + 5 * (1000 * 1000 + 1000) + (1000 * 2 + 2)
    assert networks.make_discriminator(10).count_params() == disc


def test_bad_shapes_and_names_are_reported():
    with pytest.raises(ValueError, match=r"Image shape \(28, 28, 1\) is not supported.*\(64, 64, 1\)"):
        networks.check_image_shape("burgess", (28, 28, 1))
    with pytest.raises(ValueError, match="Unknown architecture 'resnet'; choose one of burgess, locatello"):
        networks.make_encoder("resnet", (64, 64, 1), 10)
    with pytest.raises(ValueError, match="not supported"):
        networks.make_decoder("locatello", (64, 64), 10)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        networks.make_encoder("burgess", (64, 64, 1), 0)
    networks.check_image_shape("locatello", [32, 32, 3])  # lists are fine


def test_models_survive_keras_save_and_safe_load(tmp_path):
    models = [networks.make_encoder("locatello", (32, 32, 3), 4),
              networks.make_decoder("burgess", (64, 64, 1), 4),
              networks.make_discriminator(4, units=16, num_layers=2)]
    inputs = [np.random.default_rng(1).uniform(size=(2, 32, 32, 3)),
              np.random.default_rng(2).normal(size=(2, 4)),
              np.random.default_rng(3).normal(size=(2, 4))]
    for model, x in zip(models, inputs, strict=True):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=True)
        assert type(loaded) is type(model)
        assert loaded.get_config() == model.get_config()
        assert len(loaded.weights) == len(model.weights) > 0
        np.testing.assert_allclose(loaded(x.astype(np.float32)), model(x.astype(np.float32)), atol=1e-6)


def test_forward_compiles_under_xla():
    enc = networks.make_encoder("burgess", (32, 32, 1), 5)
    dec = networks.make_decoder("burgess", (32, 32, 1), 5)
    disc = networks.make_discriminator(5, units=32, num_layers=2)

    @tf.function(jit_compile=True)
    def forward(x):
        mean, _ = tf.split(enc(x), 2, axis=-1)
        return dec(mean), disc(mean)

    x = np.random.default_rng(4).uniform(size=(4, 32, 32, 1)).astype(np.float32)
    params, logits = forward(x)
    mean = enc(x)[:, :5]
    np.testing.assert_allclose(params, dec(mean), atol=1e-4)
    np.testing.assert_allclose(logits, disc(mean), atol=1e-4)


def test_outputs_are_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        enc = networks.make_encoder("burgess", (32, 32, 1), 3)
        dec = networks.make_decoder("locatello", (32, 32, 1), 3)
        disc = networks.make_discriminator(3, units=8, num_layers=1)
        x = np.zeros((2, 32, 32, 1), np.float32)
        assert enc(x).dtype == tf.float32
        assert dec(np.zeros((2, 3), np.float32)).dtype == tf.float32
        assert disc(np.zeros((2, 3), np.float32)).dtype == tf.float32
        assert enc.get_layer("conv0").compute_dtype == "bfloat16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("channels,filters,side", [(32, 1, 32), (32, 3, 16), (5, 7, 4)])
def test_phase_conv_transpose_equals_keras_conv_transpose(channels, filters, side):
    # Same kernel and bias in both layers; outputs, input gradients and kernel/bias gradients agree.
    stock = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same",
                                         bias_initializer="random_normal")
    phase = networks.PhaseConv2DTranspose(filters, 4, strides=2, padding="same")
    x = tf.constant(np.random.default_rng(5).normal(size=(3, side, side, channels)), tf.float32)
    stock.build(x.shape)
    phase.build(x.shape)
    phase.set_weights(stock.get_weights())
    cotangent = tf.constant(np.random.default_rng(6).normal(size=(3, 2 * side, 2 * side, filters)),
                            tf.float32)
    grads = []
    for layer in (stock, phase):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * cotangent)
        grads.append((y, *tape.gradient(loss, [x, layer.kernel, layer.bias])))
    assert grads[1][0].shape == (3, 2 * side, 2 * side, filters)
    for ours, theirs in zip(grads[1], grads[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_phase_conv_transpose_refuses_other_geometries():
    with pytest.raises(ValueError, match="kernel_size=4, strides=2, padding='same'.*Conv2DTranspose"):
        networks.PhaseConv2DTranspose(8, 3, strides=2, padding="same")
    with pytest.raises(ValueError, match="padding='valid'"):
        networks.PhaseConv2DTranspose(8, 4, strides=2, padding="valid")


@pytest.mark.parametrize("channels", [1, 3])
def test_depth_to_space_as_transpose_is_depth_to_space(channels):
    x = tf.random.stateless_normal([2, 5, 7, 4 * channels], seed=[0, channels])
    np.testing.assert_array_equal(networks._depth_to_space_2(x), tf.nn.depth_to_space(x, 2))
    # With an unknown batch, as in a traced train step.
    f = tf.function(networks._depth_to_space_2,
                    input_signature=[tf.TensorSpec([None, 5, 7, 4 * channels])])
    assert f.get_concrete_function().output_shapes == [None, 10, 14, channels]
    np.testing.assert_array_equal(f(x), tf.nn.depth_to_space(x, 2))
