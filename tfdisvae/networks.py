"""Encoders, decoders and the FactorVAE discriminator (Keras 3 models; layers return tensors).

Architectures (SPEC §1), for images of 64x64 or 32x32 with 1 or 3 channels:

- ``burgess`` (Burgess et al. 2018, the poster's): encoder Conv 32·4x4·stride 2 with ReLU, three times for
  32x32 input and four times for 64x64, so the map is always 4x4x32 = 512 → Dense 256 → Dense 256 →
  Dense 2·D. Decoder: Dense 256 → Dense 256 → Dense 512 → reshape 4x4x32 → Conv2DTranspose 32·4x4·s2
  (two or three times) → Conv2DTranspose C·4x4·s2 with a linear output.
- ``locatello`` (disentanglement_lib's conv_encoder / deconv_decoder): Conv 32 k4 s2 → 32 k4 s2 → 64 k2 s2 →
  64 k2 s2 → Dense 256 → Dense 2·D; decoder Dense 256 → Dense 1024 → reshape 4x4x64 → Deconv 64 k4 s2 →
  32 k4 s2 → 32 k4 s2 → C k4 s2. For 32x32 input (not in disentanglement_lib, which is 64x64 only) the
  encoder keeps its four convolutions (final map 2x2x64) and the decoder drops one 32-channel deconvolution.

All convolutions use "same" padding, so a stride-2 layer halves (or doubles) the side exactly.

The decoder's last layer (few output channels) is a `PhaseConv2DTranspose`: the same layer, weights and
result as Keras' Conv2DTranspose, computed as one stride-1 convolution that yields the four output
phases (sub-pixel convolution). On CPU the stock transposed convolution with 1 output channel took
10.2 ms forward for a batch of 64 and the phase form 3.8 ms (docs/benchmarks.md).

The encoder outputs the concatenation [mean, log_var] of shape [batch, 2·latent_dim]; split it with
``tf.split(out, 2, axis=-1)``. The decoder's output is linear: logits for a Bernoulli likelihood, the
mean for Gaussian/Laplace (see tfdisvae.distributions). Output layers compute in float32 even under a
mixed-precision policy.

The models are functional Keras models subclassed so that their config is just the factory arguments;
they are registered (package "tfdisvae") and load back with ``keras.models.load_model`` in safe mode.
"""

import keras
import tensorflow as tf
from keras import layers

ARCHITECTURES = ("burgess", "locatello")
SUPPORTED_IMAGE_SHAPES = ((64, 64, 1), (64, 64, 3), (32, 32, 1), (32, 32, 3))


def check_image_shape(arch, image_shape):
    """Raise ValueError unless `arch` is known and `image_shape` (H, W, C) is supported."""
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}."
        )
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        shape = None
    if shape not in SUPPORTED_IMAGE_SHAPES:
        supported = ", ".join(str(s) for s in SUPPORTED_IMAGE_SHAPES)
        raise ValueError(
            f"Image shape {tuple(image_shape) if shape else image_shape!r} is not supported by the "
            f"{arch!r} networks; give (height, width, channels), one of {supported}."
        )


def _check_latent_dim(latent_dim):
    if int(latent_dim) != latent_dim or int(latent_dim) < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}.")
    return int(latent_dim)


def _encoder_layers(arch, image_shape, latent_dim):
    height = image_shape[0]
    stack = []
    if arch == "burgess":
        n_conv = 4 if height == 64 else 3
        for i in range(n_conv):
            stack.append(layers.Conv2D(32, 4, strides=2, padding="same", activation="relu",
                                       name=f"conv{i}"))
        stack += [
            layers.Flatten(name="flatten"),
            layers.Dense(256, activation="relu", name="dense0"),
            layers.Dense(256, activation="relu", name="dense1"),
        ]
    else:
        for i, (filters, kernel) in enumerate(((32, 4), (32, 4), (64, 2), (64, 2))):
            stack.append(layers.Conv2D(filters, kernel, strides=2, padding="same",
                                       activation="relu", name=f"conv{i}"))
        stack += [
            layers.Flatten(name="flatten"),
            layers.Dense(256, activation="relu", name="dense0"),
        ]
    stack.append(layers.Dense(2 * latent_dim, dtype="float32", name="mean_log_var"))
    return stack


def _decoder_layers(arch, image_shape, latent_dim):
    height, channels = image_shape[0], image_shape[2]
    if arch == "burgess":
        stack = [
            layers.Dense(256, activation="relu", name="dense0"),
            layers.Dense(256, activation="relu", name="dense1"),
            layers.Dense(4 * 4 * 32, activation="relu", name="dense2"),
            layers.Reshape((4, 4, 32), name="reshape"),
        ]
        filters = [32] * (3 if height == 64 else 2)
    else:
        stack = [
            layers.Dense(256, activation="relu", name="dense0"),
            layers.Dense(1024, activation="relu", name="dense1"),
            layers.Reshape((4, 4, 64), name="reshape"),
        ]
        filters = [64, 32, 32] if height == 64 else [64, 32]
    for i, f in enumerate(filters):
        stack.append(layers.Conv2DTranspose(f, 4, strides=2, padding="same", activation="relu",
                                            name=f"deconv{i}"))
    stack.append(PhaseConv2DTranspose(channels, 4, strides=2, padding="same", dtype="float32",
                                      name="params"))
    return stack


def _phase_kernel(kernel):
    """Conv2DTranspose kernel [4, 4, F, C] -> the stride-1 kernel [2, 2, C, 4F] of its four phases.

    A "same" stride-2 transposed convolution with a 4-tap kernel w gives, before cropping one pixel at
    each border, y[2u + r] = x[u]·w[r] + x[u - 1]·w[r + 2] (r = 0, 1): a 2-tap convolution over x padded
    by one on each side, whose output channel (r_h, r_w, f) is depth_to_space's order.
    """
    _, _, filters, channels = kernel.shape
    k = tf.reshape(kernel, (2, 2, 2, 2, filters, channels))  # (q_h, r_h, q_w, r_w, F, C), a = 2q + r
    k = tf.reverse(k, [0, 2])  # tap 0 reads x[u - 1] (q = 1), tap 1 reads x[u] (q = 0)
    return tf.reshape(tf.transpose(k, (0, 2, 5, 1, 3, 4)), (2, 2, channels, 4 * filters))


def _depth_to_space_2(x):
    """tf.nn.depth_to_space(x, 2) as reshape-transpose-reshape: the same values, and on CPU about
    twice as fast as the DepthToSpace kernel for the image layer's [64, 33, 33, 4] phases."""
    channels = x.shape[-1] // 4
    dynamic = tf.shape(x)
    batch, height, width = (x.shape[i] if x.shape[i] is not None else dynamic[i] for i in range(3))
    y = tf.reshape(x, [batch, height, width, 2, 2, channels])
    y = tf.transpose(y, [0, 1, 3, 2, 4, 5])
    return tf.reshape(y, [batch, 2 * height, 2 * width, channels])


def _phase_conv_transpose(x, kernel):
    """conv2d_transpose(x, kernel, stride 2, "SAME") with a 4x4 kernel; the gradient uses the stock
    kernels (conv2d for the input, Conv2DBackpropFilter for the kernel), which are fast."""
    @tf.custom_gradient
    def op(x, kernel):
        padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
        phases = tf.nn.conv2d(padded, _phase_kernel(kernel), 1, "VALID")
        y = _depth_to_space_2(phases)[:, 1:-1, 1:-1, :]

        def grad(dy):
            dx = tf.nn.conv2d(dy, kernel, 2, "SAME")
            dkernel = tf.raw_ops.Conv2DBackpropFilter(
                input=dy, filter_sizes=tf.shape(kernel), out_backprop=x, strides=[1, 2, 2, 1],
                padding="SAME")
            return dx, dkernel

        return y, grad

    return op(x, kernel)


@keras.saving.register_keras_serializable(package="tfdisvae")
class PhaseConv2DTranspose(layers.Conv2DTranspose):
    """Conv2DTranspose (kernel 4, stride 2, "same", channels last) computed by sub-pixel convolution.

    Same variables, config and outputs as the Keras layer (tests/networks check equality of values and
    gradients); only the forward kernel differs: the stock transposed convolution is slow on CPU when
    the output has few channels, as the decoder's image layer does.
    """

    def __init__(self, filters, kernel_size, strides=2, padding="same", **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, **kwargs)
        if (self.kernel_size != (4, 4) or self.strides != (2, 2) or self.padding != "same"
                or self.data_format != "channels_last" or self.dilation_rate != (1, 1)):
            raise ValueError(
                "PhaseConv2DTranspose supports kernel_size=4, strides=2, padding='same', "
                f"channels_last and no dilation; got kernel_size={self.kernel_size}, "
                f"strides={self.strides}, padding={self.padding!r}, data_format={self.data_format!r}, "
                f"dilation_rate={self.dilation_rate}. Use keras.layers.Conv2DTranspose instead."
            )

    def call(self, inputs):
        y = _phase_conv_transpose(inputs, tf.cast(self.kernel, inputs.dtype))
        if self.use_bias:
            y = y + tf.cast(self.bias, y.dtype)
        if self.activation is not None:
            y = self.activation(y)
        return y


def _chain(inputs, stack):
    x = inputs
    for layer in stack:
        x = layer(x)
    return x


class _ArchNetwork(keras.Model):
    """A functional network of one architecture for one image shape; subclasses say what goes in and
    which layers follow (`_input_of`, `_stack`). Serialised by (arch, image_shape, latent_dim)."""

    _role = ""

    def __init__(self, arch, image_shape, latent_dim, **kwargs):
        check_image_shape(arch, image_shape)
        image_shape = tuple(int(s) for s in image_shape)
        latent_dim = _check_latent_dim(latent_dim)
        shape, input_name = self._input_of(image_shape, latent_dim)
        inputs = keras.Input(shape=shape, name=input_name)
        outputs = _chain(inputs, self._stack(arch, image_shape, latent_dim))
        kwargs.setdefault("name", f"{arch}_{self._role}")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.arch = arch
        self.image_shape = image_shape
        self.latent_dim = latent_dim

    def get_config(self):
        return {"arch": self.arch, "image_shape": list(self.image_shape),
                "latent_dim": self.latent_dim, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="tfdisvae")
class Encoder(_ArchNetwork):
    """images [batch, H, W, C] (float, in [0, 1]) -> [batch, 2·latent_dim] = concat(mean, log_var)."""

    _role = "encoder"

    @staticmethod
    def _input_of(image_shape, latent_dim):
        return image_shape, "images"

    _stack = staticmethod(_encoder_layers)


@keras.saving.register_keras_serializable(package="tfdisvae")
class Decoder(_ArchNetwork):
    """z [batch, latent_dim] -> params [batch, H, W, C]: linear output (logits or mean)."""

    _role = "decoder"

    @staticmethod
    def _input_of(image_shape, latent_dim):
        return (latent_dim,), "z"

    _stack = staticmethod(_decoder_layers)


@keras.saving.register_keras_serializable(package="tfdisvae")
class Discriminator(keras.Model):
    """FactorVAE's discriminator (Kim & Mnih 2018): z [batch, latent_dim] -> logits [batch, 2].

    `num_layers` hidden Dense(`units`) layers with LeakyReLU(0.2), then Dense(2). Logit 0 is "a sample of
    q(z)", logit 1 "a dimension-wise permuted sample" (see tfdisvae.objectives.factor).
    """

    def __init__(self, latent_dim, units=1000, num_layers=6, **kwargs):
        latent_dim = _check_latent_dim(latent_dim)
        if int(units) < 1 or int(num_layers) < 1:
            raise ValueError(
                f"Discriminator needs units >= 1 and num_layers >= 1, got units={units!r}, "
                f"num_layers={num_layers!r}."
            )
        inputs = keras.Input(shape=(latent_dim,), name="z")
        x = inputs
        for i in range(int(num_layers)):
            x = layers.Dense(int(units), name=f"dense{i}")(x)
            x = layers.LeakyReLU(negative_slope=0.2, name=f"leaky_relu{i}")(x)
        outputs = layers.Dense(2, dtype="float32", name="logits")(x)
        kwargs.setdefault("name", "discriminator")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.latent_dim = latent_dim
        self.units = int(units)
        self.num_layers = int(num_layers)

    def get_config(self):
        return {"latent_dim": self.latent_dim, "units": self.units,
                "num_layers": self.num_layers, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def make_encoder(arch, image_shape, latent_dim):
    """Encoder model: images [batch, H, W, C] -> [batch, 2·latent_dim] (mean, log_var concatenated)."""
    return Encoder(arch, image_shape, latent_dim)


def make_decoder(arch, image_shape, latent_dim):
    """Decoder model: z [batch, latent_dim] -> params [batch, H, W, C] (linear output)."""
    return Decoder(arch, image_shape, latent_dim)


def make_discriminator(latent_dim, units=1000, num_layers=6):
    """FactorVAE discriminator: z [batch, latent_dim] -> logits [batch, 2]."""
    return Discriminator(latent_dim, units=units, num_layers=num_layers)
