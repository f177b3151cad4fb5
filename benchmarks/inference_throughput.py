"""Encoder SavedModel inference: images per second at batch 1 and 256, and batch-1 latency.

    python benchmarks/inference_throughput.py [--model vae] [--batches 1,256] [--seconds 5] [--repeats 5]

Builds a Burgess model with `tfdisvae.make_model`, exports it with `tfdisvae.export.export_model` (TF
Serving layout, into a temporary folder removed afterwards), loads the encoder SavedModel back with
`tf.saved_model.load` and times its `serving_default` signature (images -> mean, log_var) on dSprites
images: the median over `--repeats` runs of about `--seconds / --repeats` each, after a warm-up. Beside
it, the same encoder called as a Keras model inside a `tf.function` (no SavedModel, no input checks), to
show what the serving signature's input validation costs. The first call of the loaded signature is
timed on its own (graph construction after load). Weights are untrained: speed does not depend on them.

Thread settings are TensorFlow's defaults (both cores). The last line is JSON.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from common import median, print_json_line, print_machine, print_table  # noqa: E402


def time_calls(fn, seconds, repeats):
    """Median calls/s over `repeats` runs of about seconds/repeats each, after a 1 s warm-up."""
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < 1.0 or calls < 3:
        fn()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    n = max(3, int(seconds / repeats / per_call))
    rates, latencies = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - t0
        rates.append(n / elapsed)
        latencies.append(elapsed / n)
    return median(rates), median(latencies), rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vae")
    parser.add_argument("--batches", default="1,256")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data_dir", default=None)
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]

    import numpy as np
    import tensorflow as tf

    from tfdisvae import export
    from tfdisvae.data import load_ground_truth
    from tfdisvae.models import make_model

    info = print_machine()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    data = load_ground_truth("dsprites", data_dir=args.data_dir)
    rng = np.random.default_rng(0)
    images = data.images(rng.choice(data.num_examples, max(batches), replace=False))
    images = images.astype(np.float32) / max(1, int(images.max()))
    if images.ndim == 3:
        images = images[..., None]

    model = make_model(args.model, dataset_size=data.num_examples, seed=0)
    base = tempfile.mkdtemp(prefix="tfdisvae-inference-")
    rows = []
    try:
        result = export.export_model(model, base, "bench")
        loaded = tf.saved_model.load(str(result.encoder_dir))
        signature = loaded.signatures["serving_default"]
        keras_encoder = tf.function(lambda x: model.encoder(x, training=False))
        for batch in batches:
            x = tf.constant(images[:batch])
            t0 = time.perf_counter()
            out = signature(images=x)
            first_call = time.perf_counter() - t0
            np.testing.assert_allclose(out["mean"].numpy(), model.encode_params(x)[0].numpy(),
                                       rtol=1e-4, atol=1e-5)
            for name, fn in (("SavedModel serving_default", lambda x=x: signature(images=x)),
                             ("Keras encoder in tf.function", lambda x=x: keras_encoder(x))):
                calls_per_s, latency, rates = time_calls(fn, args.seconds, args.repeats)
                rows.append({"path": name, "batch": batch, "images/s": calls_per_s * batch,
                             "ms/call": 1000.0 * latency,
                             "spread": f"{min(rates) * batch:,.0f}–{max(rates) * batch:,.0f}",
                             "first call ms": 1000.0 * first_call if "Saved" in name else ""})
                print(f"  {name:30s} batch {batch:4d}: {calls_per_s * batch:10,.0f} images/s",
                      flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print()
    print_table(rows, ["path", "batch", "images/s", "ms/call", "spread", "first call ms"])
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    saved = {r["batch"]: r["images/s"] for r in rows if r["path"].startswith("SavedModel")}
    print_json_line({"model": args.model, "machine": info,
                     "images_per_second": {str(b): round(v, 1) for b, v in saved.items()},
                     "rows": [{k: v for k, v in r.items() if k != "spread"} for r in rows]})


if __name__ == "__main__":
    main()
