"""Where a training step's time goes: forward + backward of each layer of the Burgess VAE, one at a time.

    python benchmarks/layer_times.py --batch_size=64 --repeats=30
    python benchmarks/layer_times.py --precisions=float32,mixed_bfloat16

Each layer of `networks.make_encoder` / `make_decoder` (burgess, 64x64x1, 10 latents) runs alone in a
`tf.function` on a random input of its own input shape: forward, a scalar loss sum(y²), and the gradient
with respect to its weights and (except for the first layer, whose input is the data) its input, as a
training step computes them. The decoder's image layer is timed twice: as the library builds it
(`networks.PhaseConv2DTranspose`) and as Keras' stock Conv2DTranspose with the same weights. Every row
is the median over `--repeats` calls after warm-up, and GFLOP/s counts the layer's multiply-adds of
forward and backward (2 FLOP each).

The CPU is shared: compare rows of one invocation; the load average is printed at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import load_average, median, print_machine, print_table  # noqa: E402


def _macs(layer, x_shape, y_shape):
    """Multiply-adds of one forward call per image (convolutions and dense layers only)."""
    import keras

    if isinstance(layer, keras.layers.Conv2DTranspose):
        kh, kw, _, cin = layer.kernel.shape
        return x_shape[0] * x_shape[1] * kh * kw * cin * layer.filters
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw, cin, cout = layer.kernel.shape
        return y_shape[0] * y_shape[1] * kh * kw * cin * cout
    if isinstance(layer, keras.layers.Dense):
        return int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    return 0


def time_layer(layer, x_shape, batch, repeats, input_grad):
    import numpy as np
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(0).uniform(size=(batch, *x_shape)), tf.float32)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.cast(layer(x), tf.float32)
            loss = tf.reduce_sum(y * y)
        sources = list(layer.trainable_variables) + ([x] if input_grad else [])
        return tape.gradient(loss, sources)

    for _ in range(5):
        step(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for g in step(x):
            g.numpy()
        times.append(time.perf_counter() - start)
    return median(times)


def layer_rows(precision, batch, repeats):
    import keras

    from tfdisvae import networks
    from tfdisvae import precision as precisions

    rows = []
    with precisions.policy_scope(precision):
        for model in (networks.make_encoder("burgess", (64, 64, 1), 10),
                      networks.make_decoder("burgess", (64, 64, 1), 10)):
            for i, layer in enumerate(model.layers):
                if not layer.trainable_weights:
                    continue
                x_shape = tuple(layer.input.shape[1:])
                y_shape = tuple(layer.output.shape[1:])
                variants = [(type(layer).__name__, layer)]
                if isinstance(layer, networks.PhaseConv2DTranspose):
                    stock = keras.layers.Conv2DTranspose.from_config(layer.get_config())
                    stock.build((None, *x_shape))
                    stock.set_weights(layer.get_weights())
                    variants.append(("Conv2DTranspose (stock)", stock))
                first = model.name.endswith("encoder") and i == 1
                for kind, candidate in variants:
                    seconds = time_layer(candidate, x_shape, batch, repeats, input_grad=not first)
                    macs = _macs(candidate, x_shape, y_shape) * batch
                    flops = 2 * macs * (2 if first else 3)  # forward, weight grad (, input grad)
                    rows.append({"precision": precision, "network": model.name.split("_")[-1],
                                 "layer": layer.name, "class": kind,
                                 "in → out": f"{'x'.join(map(str, x_shape))} → {'x'.join(map(str, y_shape))}",
                                 "ms": 1000.0 * seconds, "GFLOP/s": flops / seconds / 1e9})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per layer (median)")
    parser.add_argument("--precisions", default="float32,mixed_bfloat16",
                        help="comma-separated dtype policies (tfdisvae.precision)")
    args = parser.parse_args()
    if args.batch_size < 1 or args.repeats < 1:
        parser.error("--batch_size and --repeats must be positive")
    print_machine()
    rows = []
    for precision in args.precisions.split(","):
        rows += layer_rows(precision.strip(), args.batch_size, args.repeats)
    print_table(rows, ["precision", "network", "layer", "class", "in → out", "ms", "GFLOP/s"])
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
