"""Write the compatibility fixtures: runs, a .keras file and an export made by one commit's code.

    PYTHONPATH=. python tests/compat/make_fixtures.py tests/compat/fixtures-<commit>

Run once, on the commit whose files later code must keep reading; the folder is committed and
tests/compat/test_compat.py restores it. Each fixture is small: 32x32x1 images, 4 latents.
"""

import json
import os
import shutil
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np

from tfdisvae.config import TrainConfig
from tfdisvae.export import export_run
from tfdisvae.runs import RunCheckpoints, checkpoint_dir, load_run
from tfdisvae.training import ArrayData, train

METHODS = ("factor_vae", "beta_tcvae")
IMAGE_SHAPE = (32, 32, 1)
STEPS = 4
RESUMED_STEPS = 2


def images(n, seed):
    """Binary blobs: a fixed, seeded stand-in for dSprites at 32x32."""
    return (np.random.default_rng(seed).random((n, *IMAGE_SHAPE)) > 0.8).astype(np.float32)


def config_for(method, run_dir, steps):
    return TrainConfig.create(preset=None, model=method, latent_dim=4, batch_size=8, steps=steps,
                              checkpoint_every=2, summary_every=1, image_every=0, estimates_every=0,
                              run_dir=str(run_dir), verbose=0, seed=3)


def outputs(model, x, z):
    """Everything a restored model must give again: encoder params, decoder logits, discriminator."""
    mean, log_var = model.encode_params(x)
    values = {"mean": mean, "log_var": log_var, "logits": model.decode_params(z),
              "step": model.step, "optimizer_iterations": model.optimizer.iterations}
    if model.discriminator is not None:
        values["tc_logits"] = model.discriminator(z)
    return {k: np.asarray(v) for k, v in values.items()}


def quantize(model):
    """Round every float variable (weights, both optimizers' slots) to a 1/64 grid, so that the
    committed files compress to a few MB; the files are still written by this commit's own code."""
    variables = list(model.variables) + list(model.optimizer.variables)
    if model.discriminator_optimizer is not None:
        variables += list(model.discriminator_optimizer.variables)
    for variable in variables:
        if "float" in str(variable.dtype):
            variable.assign(np.round(np.asarray(variable) * 64) / 64)


def main(out):
    os.makedirs(out, exist_ok=True)
    x, z = images(8, 1), np.random.default_rng(2).normal(size=(8, 4)).astype(np.float32)
    expected = {"x": x, "z": z}
    for method in METHODS:
        run_dir = os.path.join(out, "runs", method)
        train(config_for(method, run_dir, STEPS), data=ArrayData(images(64, 0), name="blobs"),
              log=lambda *_: None)
        model, _ = load_run(run_dir)
        quantize(model)
        shutil.rmtree(checkpoint_dir(run_dir))
        RunCheckpoints(run_dir, model).save(STEPS)
        expected.update({f"{method}/{k}": v for k, v in outputs(model, x, z).items()})
        model.save(os.path.join(out, f"{method}.keras"))
        # The state RESUMED_STEPS train steps on the batch x later (the train_step's numerics).
        for _ in range(RESUMED_STEPS):
            model.train_on_batch(x)
        expected.update({f"{method}/resumed/{k}": v for k, v in outputs(model, x, z).items()})
    export_run(os.path.join(out, "runs", "factor_vae"), os.path.join(out, "export"), "blobs")
    np.savez(os.path.join(out, "expected.npz"), **expected)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    with open(os.path.join(out, "MADE_BY.json"), "w") as f:
        json.dump({"commit": commit, "methods": METHODS, "steps": STEPS,
                   "resumed_steps": RESUMED_STEPS}, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1])
