"""Child process of test_distribute.py: a few training steps of every method on one device and over
MirroredStrategy on 2 logical CPUs, from the same initial weights and the same global batches.

Logical devices must be configured before TensorFlow initialises, hence a process of its own. Prints one
JSON line: {method: {"single": {term: [per-step values]}, "mirrored": {...}}}.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from tfdisvae import distribute  # noqa: E402

distribute.configure_logical_cpus(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfdisvae.models import make_model  # noqa: E402

IMAGE_SHAPE = (32, 32, 1)
BATCH, STEPS, REPLICAS = 8, 3, 2
TERMS = ("loss", "reconstruction", "kl", "index_code_mi_minibatch", "total_correlation_minibatch",
         "dimwise_kl_minibatch", "dip",
         "discriminator_loss", "discriminator_accuracy")


def halves_in_shard_order(images):
    """Reorder each global batch so that one device's halves (x1 | x2) are the replicas' halves.

    factor_vae splits the batch it sees in two. A replica sees its shard (contiguous rows) and splits
    that, so over R replicas the VAE half is [shard0 first half, shard1 first half, ...]; feeding the
    single device batches in that order makes both runs train on the same halves.
    """
    out = []
    shard = BATCH // REPLICAS
    for batch in images.reshape(-1, BATCH, *IMAGE_SHAPE):
        shards = [batch[r * shard:(r + 1) * shard] for r in range(REPLICAS)]
        first = [s[:shard // 2] for s in shards]
        second = [s[shard // 2:] for s in shards]
        out.append(np.concatenate(first + second))
    return np.concatenate(out)


def run(strategy, method, images, initial_weights):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = make_model(method, latent_dim=3, image_shape=IMAGE_SHAPE, dataset_size=1000, seed=7)
        model.compile()
    model.set_weights(initial_weights[method])
    history = {name: [] for name in TERMS}

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            for name in TERMS:
                if name in logs:
                    history[name].append(float(logs[name]))

    ds = tf.data.Dataset.from_tensor_slices(images).batch(BATCH, drop_remainder=True)
    model.fit(ds, epochs=1, verbose=0, callbacks=[Record()])
    return {k: v for k, v in history.items() if v}


def main(methods):
    images = np.random.default_rng(0).integers(0, 2, (STEPS * BATCH, *IMAGE_SHAPE)).astype("float32")
    initial = {}
    for method in methods:
        keras.utils.set_random_seed(1)
        initial[method] = make_model(method, latent_dim=3, image_shape=IMAGE_SHAPE,
                                     dataset_size=1000).get_weights()
    # One strategy for the whole process (a second one over the same devices breaks collectives).
    mirrored = distribute.make_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
    results = {}
    for method in methods:
        single_images = halves_in_shard_order(images) if method == "factor_vae" else images
        results[method] = {
            "single": run(distribute.make_strategy("default"), method, single_images, initial),
            "mirrored": run(mirrored, method, images, initial),
            "replicas": mirrored.num_replicas_in_sync,
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
