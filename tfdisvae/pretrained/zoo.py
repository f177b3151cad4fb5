"""The model zoo: trained models shipped inside the package, loaded offline.

    tfdisvae.pretrained.list()                          # ["poster-beta_tcvae-dsprites", ...]
    model = tfdisvae.pretrained.load("poster-factor_vae-dsprites")     # a DisentanglingVAE
    tfdisvae.pretrained.publish("runs/factor_vae-dsprites-seed0", "factor_vae-dsprites")

Layout (tfdisvae/zoo/, one folder per model and one per version; a published version never changes
its weights):

    tfdisvae/zoo/<name>/v<N>/
      encoder.keras, decoder.keras   the networks (Keras format, loaded with safe_mode=True: no pickle,
                                     no lambda); the FactorVAE discriminator is not shipped
      config.json                    {"name", "version", "description", "model": DisentanglingVAE
                                     arguments, "train_config": the run's TrainConfig, "trained_steps",
                                     "source": where the weights come from}
      metrics.json                   reconstruction log-likelihood and KL on a fixed sample of rendered
                                     dSprites (see `reconstruction_metrics`)
      LICENSE                        when the weights carry their own licence (the poster's: MIT)
      SHA256SUMS                     sha256 of every other file (`sha256sum -c` reads it); verified on
                                     every load: a changed or damaged file is one clear error

Commands that take a run directory (python -m tfdisvae.evaluate --run_dir, python -m tfdisvae.viz,
python export.py --run_dir) also take ``pretrained:<name>`` (or ``pretrained:<name>@v<N>``): the model
is written once as an ordinary run directory (config.json and one checkpoint) under
$TFDISVAE_PRETRAINED_RUNS, default runs/pretrained/<name>, and the command reads that (see
`materialize`).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import tempfile

import numpy as np

from tfdisvae.callbacks import global_step

ZOO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "zoo")
PREFIX = "pretrained:"
CHECKSUM_FILE = "SHA256SUMS"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
LICENSE_FILE = "LICENSE"
NETWORK_FILES = {"encoder": "encoder.keras", "decoder": "decoder.keras"}
MARKER_FILE = "pretrained.json"  # in a materialized run directory
RUNS_ENV = "TFDISVAE_PRETRAINED_RUNS"

# The fixed sample of metrics.json: images of rendered dSprites drawn with
# numpy.random.default_rng(METRICS_SEED).choice(737280, METRICS_IMAGES, replace=False), sorted.
METRICS_IMAGES = 2048
METRICS_SEED = 0

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ZooError(ValueError):
    """An unknown model or version, or an entry that is not a complete zoo folder."""


class ChecksumError(ZooError):
    """A file of a zoo entry does not have the sha256 its SHA256SUMS states."""


# ---------------------------------------------------------------------------------------- lookup
def _zoo(zoo_dir):
    return os.path.abspath(os.fspath(zoo_dir)) if zoo_dir is not None else ZOO_DIR


def _versions_in(folder):
    out = []
    if os.path.isdir(folder):
        for entry in os.listdir(folder):
            match = re.fullmatch(r"v(\d+)", entry)
            if match and os.path.isfile(os.path.join(folder, entry, CONFIG_FILE)):
                out.append(int(match.group(1)))
    return sorted(out)


def list_models(zoo_dir=None):
    """Names of the zoo's models (each with at least one version), sorted."""
    root = _zoo(zoo_dir)
    if not os.path.isdir(root):
        return []
    return sorted(n for n in os.listdir(root) if _versions_in(os.path.join(root, n)))


def versions(name, zoo_dir=None):
    """The versions of a model, oldest first ([] when there is no such model)."""
    return _versions_in(os.path.join(_zoo(zoo_dir), name))


def parse_name(spec):
    """"name", "name@v2" or "pretrained:name@v2" -> (name, version or None)."""
    spec = str(spec)
    if spec.startswith(PREFIX):
        spec = spec[len(PREFIX):]
    name, _, version = spec.partition("@")
    if version:
        match = re.fullmatch(r"v?(\d+)", version)
        if not match:
            raise ZooError(f"bad version {version!r} in {spec!r}; write <name>@v<N>, e.g. {name}@v1")
        return name, int(match.group(1))
    return name, None


def entry_dir(name, version=None, zoo_dir=None):
    """The folder of a model's version (default: its latest). ZooError names what exists."""
    if version is None:
        name, version = parse_name(name)
    available = versions(name, zoo_dir)
    if not available:
        known = ", ".join(list_models(zoo_dir)) or "none"
        raise ZooError(f"no pretrained model {name!r} in {_zoo(zoo_dir)}; available: {known}")
    if version is None:
        version = available[-1]
    if int(version) not in available:
        raise ZooError(f"pretrained model {name!r} has no version {version}; versions: "
                       f"{', '.join(f'v{v}' for v in available)}")
    return os.path.join(_zoo(zoo_dir), name, f"v{int(version)}")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(folder):
    """(Re)write folder/SHA256SUMS over every other file; returns {file: sha256}."""
    sums = {n: _sha256(os.path.join(folder, n)) for n in sorted(os.listdir(folder))
            if n != CHECKSUM_FILE and os.path.isfile(os.path.join(folder, n))}
    with open(os.path.join(folder, CHECKSUM_FILE), "w", encoding="utf-8") as f:
        f.writelines(f"{digest}  {name}\n" for name, digest in sums.items())
    return sums


def verify(folder):
    """Check every file of a zoo entry against its SHA256SUMS; returns {file: sha256}.

    Raises ChecksumError for a changed, missing or unlisted file (one message naming all of them).
    """
    path = os.path.join(folder, CHECKSUM_FILE)
    if not os.path.isfile(path):
        raise ChecksumError(f"{folder} has no {CHECKSUM_FILE}: not a complete zoo entry")
    stated = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                digest, _, name = line.rstrip("\n").partition("  ")
                stated[name] = digest
    problems = []
    for name, digest in stated.items():
        file = os.path.join(folder, name)
        if not os.path.isfile(file):
            problems.append(f"{name} is missing")
        elif (actual := _sha256(file)) != digest:
            problems.append(f"{name} has sha256 {actual}, {CHECKSUM_FILE} says {digest}")
    unlisted = sorted(n for n in os.listdir(folder)
                      if n != CHECKSUM_FILE and n not in stated and os.path.isfile(os.path.join(folder, n)))
    problems += [f"{n} is not in {CHECKSUM_FILE}" for n in unlisted]
    for required in (CONFIG_FILE, METRICS_FILE, *NETWORK_FILES.values()):
        if required not in stated:
            problems.append(f"{required} is not in {CHECKSUM_FILE}")
    if problems:
        raise ChecksumError(f"zoo entry {folder} failed its checksum check: {'; '.join(problems)}. "
                            "The files were changed or damaged; reinstall tfdisvae (or restore the "
                            "folder from git) rather than use them.")
    return stated


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def info(name, version=None, zoo_dir=None):
    """{"name", "version", "dir", "config", "metrics"} of a zoo entry (checksums verified)."""
    folder = entry_dir(name, version, zoo_dir)
    verify(folder)
    config = _read_json(os.path.join(folder, CONFIG_FILE))
    return {"name": config["name"], "version": config["version"], "dir": folder, "config": config,
            "metrics": _read_json(os.path.join(folder, METRICS_FILE))}


# ---------------------------------------------------------------------------------------- loading
def _check_network(network, role, model_config, where):
    from tfdisvae import networks

    cls = networks.Encoder if role == "encoder" else networks.Decoder
    expected = {"arch": model_config.get("arch", "burgess"),
                "image_shape": list(model_config.get("image_shape", (64, 64, 1))),
                "latent_dim": int(model_config.get("latent_dim", 10))}
    got = None
    if isinstance(network, cls):
        got = {k: network.get_config()[k] for k in expected}
        got["image_shape"] = list(got["image_shape"])
    if got != expected:
        raise ZooError(f"{where}/{NETWORK_FILES[role]} is {type(network).__name__} {got}, but "
                       f"config.json describes a {cls.__name__} {expected}")


def load(name, version=None, zoo_dir=None):
    """The zoo model `name` (latest version, or `version`; "name@v1" works too) as a DisentanglingVAE.

    Verifies SHA256SUMS, loads encoder.keras and decoder.keras with safe_mode=True, checks that their
    architecture is the one config.json describes, and puts their weights into a DisentanglingVAE
    built from config.json (not compiled; a FactorVAE's discriminator starts fresh).
    """
    import keras

    from tfdisvae.models import DisentanglingVAE

    folder = entry_dir(name, version, zoo_dir)
    verify(folder)
    config = _read_json(os.path.join(folder, CONFIG_FILE))
    model = DisentanglingVAE(**_model_kwargs(config["model"]))
    for role, file in NETWORK_FILES.items():
        network = keras.saving.load_model(os.path.join(folder, file), compile=False, safe_mode=True)
        _check_network(network, role, config["model"], folder)
        target = getattr(model, role)
        shapes = [tuple(v.shape) for v in target.weights]
        if [tuple(v.shape) for v in network.weights] != shapes:
            raise ZooError(f"{folder}/{file}: weight shapes differ from the {role} config.json builds")
        target.set_weights(network.get_weights())
    return model


def _model_kwargs(model_config):
    kwargs = dict(model_config)
    if kwargs.get("image_shape") is not None:
        kwargs["image_shape"] = tuple(kwargs["image_shape"])
    return kwargs


# ---------------------------------------------------------------------------------------- metrics
def metrics_sample(num_images=METRICS_IMAGES, seed=METRICS_SEED):
    """(indices, images float32 [n, 64, 64, 1]) of the fixed sample of rendered dSprites."""
    from tfdisvae.data import load_ground_truth

    data = load_ground_truth("dsprites", source="render")
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(data.num_examples, size=int(num_images), replace=False))
    return indices, data.images(indices)


def reconstruction_metrics(model, images, batch_size=256):
    """Per-image means (nats) over `images` (uint8 or float in [0, 1], [n, H, W, C]):

    reconstruction_log_likelihood: log p(x | z = mean of q(z|x)) under the model's likelihood;
    kl: KL(q(z|x) || N(0, I)) in closed form. Both deterministic (no sampling).
    """
    import tensorflow as tf

    ll, kl = [], []
    for start in range(0, len(images), batch_size):
        x = tf.constant(np.asarray(images[start:start + batch_size], np.float32))
        mean, log_var = model.encode_params(x)
        ll.append(model.decode(mean).log_prob(x).numpy().astype(np.float64))
        m, lv = mean.numpy().astype(np.float64), log_var.numpy().astype(np.float64)
        kl.append(0.5 * np.sum(np.exp(lv) + m * m - 1.0 - lv, axis=1))
    return {"reconstruction_log_likelihood": float(np.concatenate(ll).mean()),
            "kl": float(np.concatenate(kl).mean())}


def compute_metrics_json(model, num_images=METRICS_IMAGES, seed=METRICS_SEED):
    """The metrics.json payload of a model, on the fixed sample of rendered dSprites."""
    from tfdisvae import __version__
    from tfdisvae.data import dsprites

    if tuple(model.image_shape) != (64, 64, 1):
        raise ZooError(f"metrics.json is computed on rendered dSprites (64x64x1 images); this model "
                       f"takes {tuple(model.image_shape)}: give metrics= (a dict like "
                       "compute_metrics_json's) to publish or write_entry")
    indices, images = metrics_sample(num_images, seed)
    values = reconstruction_metrics(model, images)
    return {
        "metrics": values,
        "units": {"reconstruction_log_likelihood": "nats per image (mean over the sample)",
                  "kl": "nats per image (mean over the sample)"},
        "definitions": {
            "reconstruction_log_likelihood": "log p(x | z = E[q(z|x)]), the model's likelihood of "
                                             "each image decoded from its posterior mean",
            "kl": "KL(q(z|x) || N(0, I)), closed form"},
        "sample": {"dataset": "dsprites", "source": "render",
                   "renderer_version": dsprites.RENDERER_VERSION, "num_images": int(num_images),
                   "seed": int(seed),
                   "indices": f"numpy.random.default_rng({int(seed)}).choice(737280, {int(num_images)}, "
                              "replace=False), sorted",
                   "images_sha256": hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()},
        "computed_with": {"tfdisvae": __version__,
                          "date": datetime.date.today().isoformat()},
    }


# ---------------------------------------------------------------------------------------- writing
def write_entry(model, name, *, train_config, trained_steps, source, description="",
                license_text=None, version=None, zoo_dir=None, metrics=None):
    """Write a new zoo version of `model` (a DisentanglingVAE); returns its folder.

    train_config: the TrainConfig (or its dict) the model was trained with. trained_steps: VAE updates.
    source: a dict saying where the weights come from. license_text: written as LICENSE when given.
    version: default the next one. metrics: default `compute_metrics_json(model)`. The folder is
    written beside its final place and renamed into it, so a half-written version never exists.
    """
    if not _NAME.match(str(name)) or "@" in str(name):
        raise ZooError(f"bad zoo name {name!r}: use letters, digits, '_', '-' and '.'")
    root = _zoo(zoo_dir)
    existing = versions(name, zoo_dir)
    version = int(version) if version is not None else (existing[-1] + 1 if existing else 1)
    if version in existing:
        raise ZooError(f"{name} v{version} already exists in {root}; a published version does not "
                       f"change: publish v{existing[-1] + 1} instead")
    if hasattr(train_config, "to_dict"):
        train_config = train_config.to_dict()
    model_config = {k: v for k, v in model.get_config().items() if k != "name"}
    model_config["image_shape"] = list(model_config["image_shape"])
    config = {"name": name, "version": version, "description": description,
              "model": model_config, "train_config": train_config,
              "trained_steps": int(trained_steps), "source": source,
              "files": {"encoder": NETWORK_FILES["encoder"], "decoder": NETWORK_FILES["decoder"]}}
    if metrics is None:
        metrics = compute_metrics_json(model)
    parent = os.path.join(root, name)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".v{version}-", dir=parent)
    try:
        for role, file in NETWORK_FILES.items():
            getattr(model, role).save(os.path.join(tmp, file))
        with open(os.path.join(tmp, CONFIG_FILE), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
        _write_metrics(tmp, metrics)
        if license_text:
            with open(os.path.join(tmp, LICENSE_FILE), "w", encoding="utf-8") as f:
                f.write(license_text)
        write_checksums(tmp)
        os.chmod(tmp, 0o755)
        os.rename(tmp, os.path.join(parent, f"v{version}"))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return os.path.join(parent, f"v{version}")


def _write_metrics(folder, metrics):
    with open(os.path.join(folder, METRICS_FILE), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
        f.write("\n")


def publish(run_dir, name, *, checkpoint=None, description="", version=None, zoo_dir=None,
            metrics=None):
    """Add a trained run to the zoo as `name` (next version); returns the new version's folder.

    One call does it all: loads the run (its latest checkpoint, or `checkpoint`), computes
    metrics.json (on rendered dSprites; `metrics=` gives it for other image shapes), writes the
    networks, config.json (the run's resolved TrainConfig) and SHA256SUMS.
    """
    from tfdisvae import runs

    model, config = runs.load_run(os.fspath(run_dir), checkpoint)
    step = global_step(model)
    checkpoint_path = runs.RunCheckpoints(os.fspath(run_dir), model).resolve(checkpoint)
    source = {"kind": "tfdisvae run", "run_dir": os.path.basename(os.path.abspath(run_dir)),
              "checkpoint": os.path.basename(checkpoint_path), "step": step,
              "commit": _git_commit()}
    return write_entry(model, name, train_config=config, trained_steps=step, source=source,
                       description=description, version=version, zoo_dir=zoo_dir, metrics=metrics)


def _git_commit():
    """The tfdisvae checkout's commit (None outside a git checkout)."""
    import subprocess

    try:
        out = subprocess.run(["git", "-C", os.path.dirname(ZOO_DIR), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def refresh_metrics(names=None, zoo_dir=None, log=print):
    """Recompute metrics.json (and SHA256SUMS) of the latest version of each model (or of `names`).

    For when the dSprites renderer changes: the weights stay, the numbers follow the new images.
    Returns {name: metrics}.
    """
    out = {}
    for name in names or list_models(zoo_dir):
        folder = entry_dir(name, None, zoo_dir)
        verify(folder)
        payload = compute_metrics_json(load(name, zoo_dir=zoo_dir))
        _write_metrics(folder, payload)
        write_checksums(folder)
        out[name] = payload["metrics"]
        log(f"{name} {os.path.basename(folder)}: " + ", ".join(
            f"{k} {v:.4f}" for k, v in payload["metrics"].items()))
    return out


# ---------------------------------------------------------------------------------------- run dirs
def default_runs_root():
    """Where `materialize` writes run directories: $TFDISVAE_PRETRAINED_RUNS, else runs/pretrained."""
    return os.environ.get(RUNS_ENV) or os.path.join("runs", "pretrained")


def materialize(name, run_dir=None, version=None, zoo_dir=None):
    """A run directory (config.json + one checkpoint at the model's trained step) of a zoo model.

    Written once under `run_dir` (default <default_runs_root()>/<name>) and reused while it holds the
    same version; evaluate, viz and export read it like any run, and write their outputs there.
    Returns the run directory.
    """
    from tfdisvae import runs
    from tfdisvae.config import TrainConfig
    from tfdisvae.models import make_model

    if version is None:
        name, version = parse_name(name)
    folder = entry_dir(name, version, zoo_dir)
    sums = verify(folder)
    config = _read_json(os.path.join(folder, CONFIG_FILE))
    marker = {"name": config["name"], "version": config["version"],
              "checksums_sha256": hashlib.sha256(json.dumps(sums, sort_keys=True).encode()).hexdigest()}
    run_dir = os.path.abspath(run_dir or os.path.join(default_runs_root(), name))
    marker_path = os.path.join(run_dir, MARKER_FILE)
    if os.path.isfile(marker_path):
        complete = (os.path.isfile(runs.config_path(run_dir))
                    and os.path.isdir(runs.checkpoint_dir(run_dir))
                    and any(f.endswith(".index") for f in os.listdir(runs.checkpoint_dir(run_dir))))
        if _read_json(marker_path) == marker and complete:
            return run_dir
    elif os.path.isdir(run_dir) and os.listdir(run_dir):
        raise ZooError(f"{run_dir} exists and is not a pretrained model's run directory (no "
                       f"{MARKER_FILE}); give another place (run_dir=, or ${RUNS_ENV})")
    os.makedirs(run_dir, exist_ok=True)
    shutil.rmtree(runs.checkpoint_dir(run_dir), ignore_errors=True)
    shutil.rmtree(runs.figures_dir(run_dir), ignore_errors=True)
    for stale in (runs.METRICS_FILE, MARKER_FILE):  # they described other weights
        if os.path.exists(os.path.join(run_dir, stale)):
            os.remove(os.path.join(run_dir, stale))
    train_config = TrainConfig.from_dict({**config["train_config"], "run_dir": run_dir})
    model = make_model(train_config)
    model.compile(**runs.optimizers_of(train_config))
    source = load(name, config["version"], zoo_dir)
    model.encoder.set_weights(source.encoder.get_weights())
    model.decoder.set_weights(source.decoder.get_weights())
    step = int(config.get("trained_steps") or 0)
    model.optimizer.iterations.assign(step)
    train_config.to_json(runs.config_path(run_dir))
    runs.RunCheckpoints(run_dir, model).save(step)
    with open(marker_path, "w", encoding="utf-8") as f:
        json.dump(marker, f, indent=2, sort_keys=True)
    return run_dir


def is_pretrained(run_dir):
    return isinstance(run_dir, str) and run_dir.startswith(PREFIX)


def resolve_run_dir(run_dir, log=None):
    """run_dir itself, or for "pretrained:<name>[@v<N>]" the materialized run directory."""
    if not is_pretrained(run_dir):
        return run_dir
    path = materialize(run_dir)
    if log is not None:
        log(f"{run_dir}: run directory {path}")
    return path
