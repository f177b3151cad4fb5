"""The served signatures, defined once (signature_table): the tf.functions, their description in
tfdisvae.json and their warm-up requests are derived from that table."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfdisvae import distributions

WARMUP_BATCH = 2

__all__ = ["WARMUP_BATCH", "NetworkPair", "describe_signatures", "input_specs",
           "signature_functions", "signature_table", "warmup_inputs"]


class NetworkPair:
    """A bare encoder and decoder (e.g. an imported model's) with the methods of DisentanglingVAE the
    signatures call: encode_params, decode_params, decode_mean and reconstruct."""

    def __init__(self, encoder, decoder, likelihood):
        self.encoder, self.decoder, self.likelihood = encoder, decoder, likelihood

    def encode_params(self, x):
        return tf.split(tf.cast(self.encoder(x, training=False), tf.float32), 2, axis=-1)

    def decode_params(self, z):
        return tf.cast(self.decoder(z, training=False), tf.float32)  # float32 under a mixed policy

    def decode_mean(self, z):
        return distributions.likelihood_mean(self.decode_params(z), self.likelihood)

    def reconstruct(self, x):
        return self.decode_mean(self.encode_params(x)[0])


def _z(net, images, normal):
    """z = mean + exp(log_var / 2) * eps, eps = normal(shape, dtype)."""
    mean, log_var = net.encode_params(images)
    return (mean + tf.exp(0.5 * log_var) * normal(tf.shape(mean), dtype=mean.dtype),)


def _decoded(likelihood):
    if likelihood == "bernoulli":
        return {"logits": "images", "probabilities": "images"}, lambda net, z: (
            net.decode_params(z), net.decode_mean(z))
    return {"mean_image": "images"}, lambda net, z: (net.decode_mean(z),)


def signature_table(likelihood):
    """{model: {signature: (input names, {output: the input it is shaped like}, body)}}, serving_default
    first; body(net, *inputs) returns the outputs in their order, net a DisentanglingVAE or NetworkPair.

    sample draws a new eps per request; sample_seeded draws it with stateless_normal(seed), the same on
    every server (`seed` has no batch axis: call it with the columnar `inputs` JSON). The decoder's
    reconstruct decodes the posterior mean (its SavedModel carries the encoder for it).
    """
    return {
        "encoder": {
            "serving_default": (("images",), {"mean": "latents", "log_var": "latents"},
                                lambda net, x: net.encode_params(x)),
            "representation": (("images",), {"mean": "latents"}, lambda net, x: net.encode_params(x)[:1]),
            "sample": (("images",), {"z": "latents"}, lambda net, x: _z(net, x, tf.random.normal)),
            "sample_seeded": (("images", "seed"), {"z": "latents"}, lambda net, x, seed: _z(
                net, x, lambda shape, dtype: tf.random.stateless_normal(shape, seed=seed, dtype=dtype))),
        },
        "decoder": {
            "serving_default": (("latents",), *_decoded(likelihood)),
            "reconstruct": (("images",), {"reconstruction": "images"}, lambda net, x: (net.reconstruct(x),)),
        },
    }


def input_specs(image_shape, latent_dim):
    return {"images": tf.TensorSpec([None, *image_shape], tf.float32, name="images"),
            "latents": tf.TensorSpec([None, latent_dim], tf.float32, name="latents"),
            "seed": tf.TensorSpec([2], tf.int64, name="seed")}


def _validated(name, x, spec, where):
    """x with asserts attached: rank and trailing shape of `spec`; images in [0, 1], latents finite."""
    if name == "seed":
        return x
    trailing = spec.shape[1:].as_list()
    expected = f"{name}: float32 [batch, {', '.join(map(str, trailing))}]" + (
        " with values in [0, 1]" if name == "images" else ", finite")
    shape = tf.shape(x)
    # Pad before slicing so a wrong rank gives the message below, not a slicing error.
    padded = tf.concat([shape, tf.zeros([len(trailing) + 1], tf.int32)], axis=0)[1:len(trailing) + 1]
    shape_ok = tf.logical_and(tf.equal(tf.size(shape), len(trailing) + 1),
                              tf.reduce_all(tf.equal(padded, tf.constant(trailing, tf.int32))))
    check_shape = tf.debugging.Assert(shape_ok, [f"{where} expects {expected}; got shape", shape],
                                      summarize=8, name=f"check_{name}_shape")
    with tf.control_dependencies([check_shape]):
        if name == "images":
            check = tf.debugging.Assert(
                tf.reduce_all(tf.logical_and(x >= 0.0, x <= 1.0)),
                [f"{where} expects {expected} (scale uint8 pixels by 1/255); got min, max",
                 tf.reduce_min(x), tf.reduce_max(x)], name="check_images_range")
        else:
            check = tf.debugging.Assert(tf.reduce_all(tf.math.is_finite(x)),
                                        [f"{where} expects {expected}; got NaN or infinite values"],
                                        name="check_latents_finite")
    with tf.control_dependencies([check]):
        return tf.identity(x)


def _function(net, role, name, inputs, outputs, body, specs):
    where = f"{role} signature {name}"

    def fn(*args):
        args = [_validated(n, a, specs[n], where) for n, a in zip(inputs, args, strict=True)]
        return dict(zip(outputs, body(net, *args), strict=True))

    fn.__name__ = name
    return tf.function(fn, input_signature=[specs[n] for n in inputs])


def signature_functions(net, role, image_shape, latent_dim, likelihood):
    """The tf.functions of model `role` ("encoder" or "decoder") over `net`, serving_default first."""
    specs = input_specs(image_shape, latent_dim)
    return {name: _function(net, role, name, inputs, tuple(outputs), body, specs)
            for name, (inputs, outputs, body) in signature_table(likelihood)[role].items()}


def _describe(spec, value_range=None):
    out = {"dtype": spec.dtype.name, "shape": [-1 if d is None else d for d in spec.shape.as_list()]}
    return out if value_range is None else {**out, "range": value_range}


def describe_signatures(image_shape, latent_dim, likelihood):
    """The signatures as JSON-able dicts: {"encoder": {name: {"inputs":..., "outputs":...}}, ...}.

    Shapes use -1 for the batch dimension, as `saved_model_cli show` prints them.
    """
    specs = input_specs(image_shape, latent_dim)
    return {role: {name: {"inputs": {n: _describe(specs[n], [0.0, 1.0] if n == "images" else None)
                                     for n in inputs},
                          "outputs": {n: _describe(specs[like]) for n, like in outputs.items()}}
                   for name, (inputs, outputs, _) in table.items()}
            for role, table in signature_table(likelihood).items()}


def warmup_inputs(image_shape, latent_dim, batch=WARMUP_BATCH, seed=0):
    """Valid inputs for every signature: {"encoder": {sig: {input: array}}, "decoder": {...}}."""
    rng = np.random.default_rng(seed)
    values = {"images": rng.uniform(0.0, 1.0, size=(batch, *image_shape)).astype(np.float32),
              "latents": rng.standard_normal((batch, latent_dim)).astype(np.float32),
              "seed": np.array([0, 1], np.int64)}
    return {role: {name: {n: values[n] for n in inputs} for name, (inputs, _, _) in table.items()}
            for role, table in signature_table("bernoulli").items()}
