"""Training images per second of every method, with each speed setting switched on and off.

    python benchmarks/train_throughput.py --model=vae --batch_size=64 --seconds=60
    python benchmarks/train_throughput.py --model=all --seconds=20 \\
        --variants=baseline,default,xla,bf16,bf16_xla,threads,spe4,raw,raw_bf16

Variants that differ in oneDNN or thread counts (fixed before TensorFlow's first op) run in separate
child processes; the others (XLA, dtype policy, steps_per_execution, raw step) share one child, each with
its own model, and are timed in interleaved bursts so that load from other processes hits them alike.
The child builds each model with
`tfdisvae.make_model`, compiles it, and drives Keras's own compiled train function (what `fit` runs per
step, without callbacks) on the rendered dSprites through the real input pipeline
(`load_ground_truth("dsprites").as_dataset(batch_size)`: shuffled, in-graph gather, prefetch). After a
warm-up (tracing, XLA compilation, the pipeline filling) it times `--repeats` bursts of about
`--seconds / --repeats` each and reports the median images per second over the bursts of all
`--rounds` child processes (images = batch_size per step;
factor_vae's two halves both count, as in the anchor).

Variants (run `--variants=list` to print them): `baseline` switches every optimisation off (oneDNN off,
XLA off, float32); `default` is what train.py does on a CPU; the others change one thing. `raw` is a
hand-written Burgess-VAE step (reconstruction + analytic KL, no TFP objects, no metrics) on the same
networks and pipeline: the ceiling of the library's step. Ratios are against `baseline` and against the
anchor: the poster's PyTorch implementation on these 2 cores, about 750 images/s (VAE, beta-VAE_H,
beta-VAE_B, beta-TCVAE at batch 64) and 650 (FactorVAE at batch 128).

The CPU is shared: compare ratios within one invocation; check the load average printed beside them.
The last line is JSON: images_per_second of the first (method, variant) and every row.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import load_average, median, print_json_line, print_table  # noqa: E402

METHODS = ("vae", "beta_vae_h", "beta_vae_b", "factor_vae", "beta_tcvae", "dip_vae_i", "dip_vae_ii")
ANCHOR = {"vae": 750.0, "beta_vae_h": 750.0, "beta_vae_b": 750.0, "beta_tcvae": 750.0,
          "factor_vae": 650.0}
PRESET_BATCH = {"factor_vae": 128}  # tfdisvae.config "poster" preset (Kim & Mnih); the others 64

# tfdisvae.config.AUTO_STEPS_PER_EXECUTION: what train.py's steps_per_execution=auto picks for the presets
# (the parent process does not import TensorFlow; the child checks the two agree).
AUTO_STEPS_PER_EXECUTION = 50

# name: (description, settings). Settings not given take DEFAULTS.
DEFAULTS = {"impl": "model", "jit": False, "precision": "float32", "onednn": True, "intra": 0,
            "inter": 0, "spe": AUTO_STEPS_PER_EXECUTION, "phase": True, "fused": True}
VARIANTS = {
    "baseline": ("every optimisation off: oneDNN off, XLA off, float32, stock image deconvolution, "
                 "TFP's Bernoulli log_prob, Keras' Adam, one step per call",
                 {"onednn": False, "phase": False, "fused": False, "spe": 1}),
    "default": ("train.py on a CPU: oneDNN on, XLA off (jit_compile auto), float32, "
                f"{AUTO_STEPS_PER_EXECUTION} steps per call (steps_per_execution auto)", {}),
    "spe1": ("default, but one step per call of the train function (Keras' default)", {"spe": 1}),
    "stock_deconv": ("default, but the decoder's image layer is Keras' Conv2DTranspose instead of "
                     "networks.PhaseConv2DTranspose", {"phase": False}),
    "unfused": ("default, but TFP's own Bernoulli log_prob and keras.optimizers.Adam instead of "
                "distributions.Bernoulli and optimizers.Adam (the fused forms)", {"fused": False}),
    "bf16_unfused": ("mixed_bfloat16, unfused as above", {"precision": "mixed_bfloat16",
                                                          "fused": False}),
    "xla": ("default + jit_compile=True", {"jit": True}),
    "bf16": ("default + mixed_bfloat16 policy", {"precision": "mixed_bfloat16"}),
    "bf16_xla": ("mixed_bfloat16 + XLA", {"precision": "mixed_bfloat16", "jit": True}),
    "threads": ("default + intra_op=2, inter_op=1 threads", {"intra": 2, "inter": 1}),
    "intra1": ("default + intra_op=1, inter_op=2 threads (ops in parallel, each on one core)",
               {"intra": 1, "inter": 2}),
    "bf16_threads": ("mixed_bfloat16 + intra_op=2, inter_op=1",
                     {"precision": "mixed_bfloat16", "intra": 2, "inter": 1}),
    "spe10": ("default, but 10 steps per call", {"spe": 10}),
    "bf16_spe1": ("mixed_bfloat16, one step per call", {"precision": "mixed_bfloat16", "spe": 1}),
    "raw": ("hand-written VAE step, same networks and data, float32", {"impl": "raw"}),
    "raw_bf16": ("hand-written VAE step, mixed_bfloat16",
                 {"impl": "raw", "precision": "mixed_bfloat16"}),
    "raw_xla": ("hand-written VAE step, XLA", {"impl": "raw", "jit": True}),
}


# ---------------------------------------------------------------------------------- child process
def _raw_train_function(batch_size, jit):
    """A minimal Burgess VAE step: Bernoulli reconstruction + analytic KL, Adam, nothing else."""
    import keras
    import tensorflow as tf

    from tfdisvae import networks

    encoder = networks.make_encoder("burgess", (64, 64, 1), 10)
    decoder = networks.make_decoder("burgess", (64, 64, 1), 10)
    variables = encoder.trainable_variables + decoder.trainable_variables
    optimizer = keras.optimizers.Adam(5e-4)
    optimizer.build(variables)
    seed = tf.Variable([0, 0], dtype=tf.int32, trainable=False)

    @tf.function(jit_compile=jit)
    def step(x):
        seed.assign_add([0, 1])
        with tf.GradientTape() as tape:
            mean, log_var = tf.split(tf.cast(encoder(x, training=True), tf.float32), 2, axis=-1)
            eps = tf.random.stateless_normal(tf.shape(mean), seed=seed)
            z = mean + tf.exp(0.5 * log_var) * eps
            logits = tf.cast(decoder(z, training=True), tf.float32)
            recon = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits),
                                  axis=[1, 2, 3])
            kl = 0.5 * tf.reduce_sum(tf.exp(log_var) + tf.square(mean) - 1.0 - log_var, axis=1)
            loss = tf.reduce_mean(recon + kl)
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return {"loss": loss}

    def train_function(iterator):
        return step(next(iterator))

    return train_function, lambda logs: float(logs["loss"])


def _model_train_function(method, jit, spe, fused):
    import keras

    from tfdisvae.config import DEFAULT_LR
    from tfdisvae.models import make_model

    model = make_model(method, dataset_size=737_280, seed=0)
    optimizers = {}
    if not fused:  # Keras' own Adam, at the rates compile() would pick
        optimizers["optimizer"] = keras.optimizers.Adam(DEFAULT_LR[method])
        if method == "factor_vae":
            optimizers["discriminator_optimizer"] = keras.optimizers.Adam(1e-4, beta_1=0.5,
                                                                          beta_2=0.9)
    model.compile(jit_compile=jit, steps_per_execution=spe, **optimizers)
    model.make_train_function()

    def train_function(iterator):
        return model.train_function(iterator)

    def sync(logs):  # Keras returns the logs, or an Optional of them with steps_per_execution > 1
        logs = logs.get_value() if hasattr(logs, "get_value") else logs
        return float(logs["loss"])

    return train_function, sync


def child(group: list) -> list:
    """Runs in its own process: the variants of `group` (same oneDNN and thread settings), interleaved.

    Each variant gets its own model (built under its own dtype policy) and iterator over the same
    pipeline. After every variant has compiled and warmed up, `repeats` rounds run each variant for
    about seconds/repeats in turn, so a burst of load from other processes hits all of them alike.
    Returns one result dict per variant, in order.
    """
    import keras
    import tensorflow as tf

    first = group[0]
    if first["intra"] or first["inter"]:
        tf.config.threading.set_intra_op_parallelism_threads(first["intra"])
        tf.config.threading.set_inter_op_parallelism_threads(first["inter"])
    import tensorflow_probability as tfp

    from tfdisvae import config, distributions, networks, precision
    from tfdisvae.data import load_ground_truth

    assert config.AUTO_STEPS_PER_EXECUTION == AUTO_STEPS_PER_EXECUTION, "update the benchmark's copy"

    phase_layer, fused_bernoulli = networks.PhaseConv2DTranspose, distributions.Bernoulli

    data = load_ground_truth("dsprites", data_dir=first["data_dir"])
    runs = []
    for settings in group:
        batch = settings["batch_size"]
        # The stock variants build the decoder's image layer from Keras' class (same weights and
        # outputs; _decoder_layers looks the class up when it builds the model).
        networks.PhaseConv2DTranspose = phase_layer if settings["phase"] else keras.layers.Conv2DTranspose
        # Likewise the likelihood's class, looked up when the train step is traced (its first call).
        distributions.Bernoulli = (fused_bernoulli if settings["fused"]
                                   else tfp.distributions.Bernoulli)
        with precision.policy_scope(settings["precision"]):
            keras.utils.set_random_seed(0)
            if settings["impl"] == "raw":
                train_function, sync = _raw_train_function(batch, settings["jit"])
                steps_per_call = 1
            else:
                train_function, sync = _model_train_function(settings["method"], settings["jit"],
                                                             settings["spe"], settings["fused"])
                steps_per_call = settings["spe"]
        iterator = iter(data.as_dataset(batch, shuffle=True, seed=0))
        start = time.perf_counter()
        sync(train_function(iterator))  # trace / compile
        first_call_s = time.perf_counter() - start
        # Warm-up: about 2 s of steps (the pipeline fills, oneDNN primitives are cached).
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < 2.0 or calls < 3:
            logs = train_function(iterator)
            calls += 1
        sync(logs)
        per_call = (time.perf_counter() - start) / calls
        runs.append({"fn": train_function, "sync": sync, "iterator": iterator, "batch": batch,
                     "steps_per_call": steps_per_call, "first_call_s": first_call_s,
                     "calls": max(3, int(settings["seconds"] / settings["repeats"] / per_call)),
                     "rates": [], "loss": float("nan")})
    for _ in range(first["repeats"]):
        for run in runs:
            start = time.perf_counter()
            for _ in range(run["calls"]):
                logs = run["fn"](run["iterator"])
            run["loss"] = run["sync"](logs)
            elapsed = time.perf_counter() - start
            run["rates"].append(run["calls"] * run["steps_per_call"] * run["batch"] / elapsed)
    return [{"images_per_second": median(run["rates"]), "repeats": run["rates"],
             "first_call_s": run["first_call_s"], "final_loss": run["loss"],
             "steps_per_repeat": run["calls"] * run["steps_per_call"]} for run in runs]


# ---------------------------------------------------------------------------------- parent process
def run_child(group: list, timeout: float) -> list:
    settings = group[0]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow",
           "TF_ENABLE_ONEDNN_OPTS": "1" if settings["onednn"] else "0"}
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--_child", json.dumps(group)],
                          capture_output=True, text=True, env=env, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child failed for {settings['method']}/"
                           f"{','.join(g['variant'] for g in group)}:\n"
                           f"{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vae",
                        help=f"a method, a comma-separated list, or 'all' ({', '.join(METHODS)})")
    parser.add_argument("--batch_size", type=int, default=None,
                        help="global batch; default: 64 (factor_vae: 128, its preset)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="timed seconds per (method, variant), after warm-up")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per child process")
    parser.add_argument("--rounds", type=int, default=1,
                        help="child processes per (method, variant), interleaved; the figure is the "
                             "median over all their repeats")
    parser.add_argument("--variants", default="default",
                        help="comma-separated names, or 'list' to print them")
    parser.add_argument("--data_dir", default=None,
                        help="dSprites data folder (default: the library's; rendered once, ~10 s)")
    parser.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args._child:
        print(json.dumps(child(json.loads(args._child))))
        return
    if args.variants == "list":
        for name, (doc, _) in VARIANTS.items():
            print(f"{name:14s} {doc}")
        return
    methods = METHODS if args.model == "all" else tuple(args.model.split(","))
    variants = tuple(args.variants.split(","))
    for name in methods:
        if name not in METHODS:
            parser.error(f"unknown --model {name!r}; choose from {', '.join(METHODS)} or 'all'")
    for name in variants:
        if name not in VARIANTS:
            parser.error(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")

    from common import machine_info

    from tfdisvae import precision

    info = machine_info()
    info["native_bfloat16"] = precision.cpu_has_native_bfloat16()
    print("machine: " + " · ".join(f"{k}={v}" for k, v in info.items()))
    print(f"load average at start: {load_average()}")
    print(f"command: python benchmarks/{os.path.basename(__file__)} " + " ".join(sys.argv[1:]))
    rows = []
    for method in methods:
        batch = args.batch_size or PRESET_BATCH.get(method, 64)
        # The raw step is a plain VAE: one row (under vae) is enough.
        names = [v for v in variants if VARIANTS[v][1].get("impl") != "raw" or method == "vae"]
        results = {v: [] for v in names}
        loads = {v: [] for v in names}
        # Rounds interleave the variants, so a burst of load from other processes hits them alike.
        groups = {}  # process-level settings -> variants that can share one process
        for variant in names:
            settings = {**DEFAULTS, **VARIANTS[variant][1], "method": method, "variant": variant,
                        "batch_size": batch, "seconds": args.seconds, "repeats": args.repeats,
                        "data_dir": args.data_dir}
            key = (settings["onednn"], settings["intra"], settings["inter"])
            groups.setdefault(key, []).append(settings)
        for _ in range(args.rounds):
            for group in groups.values():
                group_results = run_child(group, timeout=600 + 3 * len(group) * args.seconds)
                load = os.getloadavg()[0]
                for settings, result in zip(group, group_results, strict=True):
                    results[settings["variant"]].append(result)
                    loads[settings["variant"]].append(load)
                    print(f"  {method:11s} {settings['variant']:13s} "
                          f"{result['images_per_second']:8,.0f} images/s (load {load:.2f})",
                          flush=True)
        ips = {v: median([r for res in results[v] for r in res["repeats"]]) for v in names}
        for variant in names:
            every = [r for res in results[variant] for r in res["repeats"]]
            row = {"method": method, "variant": variant, "batch": batch, "images/s": ips[variant],
                   "ms/step": 1000.0 * batch / ips[variant],
                   "spread": f"{min(every):,.0f}–{max(every):,.0f}",
                   "first call s": median([res["first_call_s"] for res in results[variant]]),
                   "load": f"{median(loads[variant]):.2f}"}
            if "baseline" in ips:
                row["× baseline"] = f"{ips[variant] / ips['baseline']:.2f}"
            if "default" in ips:
                row["× default"] = f"{ips[variant] / ips['default']:.2f}"
            if method in ANCHOR:
                row["× anchor"] = f"{ips[variant] / ANCHOR[method]:.2f}"
            rows.append(row)
    print()
    print_table(rows, ["method", "variant", "batch", "images/s", "× baseline", "× default",
                       "× anchor", "ms/step", "spread", "first call s", "load"])
    print(f"load average at end: {load_average()}")
    print_json_line({
        "model": rows[0]["method"], "variant": rows[0]["variant"], "batch_size": rows[0]["batch"],
        "images_per_second": round(rows[0]["images/s"], 1), "machine": info,
        "rows": [{"method": r["method"], "variant": r["variant"], "batch_size": r["batch"],
                  "images_per_second": round(r["images/s"], 1)} for r in rows]})


if __name__ == "__main__":
    main()
