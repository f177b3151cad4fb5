"""TrainConfig: every setting of a training run, the presets, validation and the JSON round trip.

One field per `train.py` flag (same names). A run directory's `config.json` holds the *resolved* config:
the preset applied, the method's defaults filled in (`lr`, `beta`, ...), `image_shape`, `dataset_size`
and `steps` made concrete, so `TrainConfig.from_json` rebuilds exactly the model that was trained.

Precedence: field defaults < preset < explicitly given values (`TrainConfig.create(preset=..., **given)`).

Method hyper-parameters carry the names of `tfdisvae.objectives.methods.METHOD_HPARAMS` (None: the
method's default there; their meaning: the method table of that module).
"""

import dataclasses
import json
import math
import os

# The valid names come from the modules that implement them, so a new method, architecture,
# likelihood, strategy or precision is valid here as soon as it exists there.
from tfdisvae.distribute import STRATEGIES
from tfdisvae.distributions import LIKELIHOODS
from tfdisvae.networks import ARCHITECTURES
from tfdisvae.objectives.methods import (
    DEFAULT_LR,
    DISCRIMINATOR_ADAM,
    METHOD_HPARAMS,
    METHODS,
    check_hparams,
)
from tfdisvae.precision import CHOICES as PRECISIONS

JIT_CHOICES = ("auto", "true", "false")
# steps_per_execution="auto" runs this many training steps per call of the compiled train function at
# most (fewer when the callbacks' periods need it). Measured in docs/benchmarks.md.
AUTO_STEPS_PER_EXECUTION = 50
# The hyper-parameter fields: every name a method of METHOD_HPARAMS takes.
HPARAM_FIELDS = tuple(dict.fromkeys(name for m in METHODS for name in METHOD_HPARAMS[m]))

# The shipped dSprites models of the poster's code (YannDubs/disentangling-vae,
# results/{VAE,betaH,betaB,factor,btcvae}_dsprites/specs.json; hyperparam.ini sections [Common_dsprites],
# [Common_<loss>], [<loss>_dsprites]): Burgess networks, 10 latents, Bernoulli, Adam (0.9, 0.999);
# lr and FactorVAE's discriminator Adam are the methods' defaults (objectives.methods: DEFAULT_LR,
# DISCRIMINATOR_ADAM), which are that code's. Notes: betaB's reg_anneal = 100,000 there is its
# capacity schedule's length (c_steps here; BetaBLoss anneals C, nothing else); FactorVAE's batch of
# 128 is split in halves (64 for the VAE, 64 for the discriminator), as ours. The reference's warm-up
# anneals per method (reg_anneal_terms="reference").
POSTER_DSPRITES = {
    "vae": {"epochs": 30.0, "batch_size": 64, "reg_anneal_steps": 10_000},
    "beta_vae_h": {"epochs": 30.0, "batch_size": 64, "beta": 4.0, "reg_anneal_steps": 10_000},
    "beta_vae_b": {"epochs": 30.0, "batch_size": 64, "capacity_weight": 100.0, "c_init": 0.0,
                   "c_final": 25.0, "c_steps": 100_000},
    "factor_vae": {"epochs": 60.0, "batch_size": 128, "tc_weight": 6.4, "reg_anneal_steps": 10_000},
    "beta_tcvae": {"epochs": 30.0, "batch_size": 64, "alpha": 1.0, "beta": 6.4, "gamma": 1.0,
                   "reg_anneal_steps": 10_000},
}
POSTER_COMMON = {"arch": "burgess", "latent_dim": 10, "likelihood": "bernoulli", "adam_beta1": 0.9,
                 "adam_beta2": 0.999}

# Run settings of the poster presets (not the method's): a checkpoint, images and AAM / MIG
# (MetricsCallback, metrics/<name> in RUN/logs/train) every 5,000 steps.
_POSTER_RUN = {"steps": None, "checkpoint_every": 5000, "summary_every": 100, "image_every": 5000,
               "metrics_every": 5000}


def _poster_entry(method):
    common = {**POSTER_COMMON, **_POSTER_RUN, "lr": DEFAULT_LR[method]}
    if method in POSTER_DSPRITES:
        return {**common, **POSTER_DSPRITES[method], "reg_anneal_terms": "reference"}
    # Not in the poster's code (DIP-VAE): the VAE's settings, our (SPEC) warm-up.
    return {**common, **POSTER_DSPRITES["vae"]}


# Presets: a dict of field values, or a dict method -> field values ("poster": the poster's dSprites
# settings for whichever --model is chosen; 737,280 / 64 = 11,520 steps per epoch).
PRESETS = {
    # The default: finishes in a few minutes on a 2-core CPU and already learns position and scale.
    "quick": {"steps": 3000, "batch_size": 64, "checkpoint_every": 500, "summary_every": 50,
              "image_every": 500, "metrics_every": 0},
    "poster": {method: _poster_entry(method) for method in METHODS},
    # Poster Table 1's beta = 50 row: the beta-VAE_H settings with B = 50.
    "poster_beta50": {"model": "beta_vae_h", **_poster_entry("beta_vae_h"), "beta": 50.0},
}

# Fields that may change between a run and its resumption (everything else must match config.json).
# strategy: a run may resume on another number of devices (same global batch, same step).
RESUMABLE_CHANGES = ("steps", "epochs", "checkpoint_every", "summary_every", "image_every", "strategy",
                     "metrics_every", "estimates_every", "estimates_points", "jit_compile", "logdir", "run_dir", "verbose",
                     "steps_per_execution")


class ConfigError(ValueError):
    """An invalid setting; the message is one line naming the setting and what is valid."""


def _field(default, help_text):
    """A TrainConfig field with the help text of its train.py flag (tfdisvae.cli.train)."""
    return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a training run. Units: steps are optimizer updates of the VAE; lr per step.
    A field's metadata["help"] is its train.py flag's help."""

    model: str = _field("beta_vae_h", f"Method: {', '.join(METHODS)}.")
    preset: str | None = _field("quick", f"Settings to start from: {', '.join(PRESETS)} or none (then "
                                         "flags override them).")
    # data
    dataset: str = _field("dsprites", "Data set: dsprites (rendered on demand when no file is cached) "
                                      "or another of tfdisvae.data.DATASETS (color_dsprites, mpi3d_toy, "
                                      "cars3d, shapes3d, ...).")
    data_dir: str | None = _field(None, "Folder of the data set files (default: the data module's "
                                        "cache).")
    data_source: str = _field("auto", "dsprites and its variants: auto (a cached file if present, else "
                                      "render) or render; shapes3d: auto (3dshapes.h5 in --data_dir if "
                                      "present, else TFDS), file or tfds.")
    background_image: str | None = _field(None, "scream_dsprites: the background picture (default "
                                                "<data_dir>/scream/scream.jpg).")
    train_subset: int | None = _field(None, "Train on this many images drawn at random with --seed "
                                            "(default: all).")
    image_shape: tuple | None = _field(None, "Expected H,W,C of the images (checked against the data "
                                             "and the architecture).")
    dataset_size: int | None = _field(None, "Number of training images N (set from the data; "
                                            "beta_tcvae's estimators use it).")
    # networks and distributions
    arch: str = _field("burgess", "Networks: burgess or locatello.")
    latent_dim: int = _field(10, "Number of latents D.")
    likelihood: str = _field("bernoulli", "Decoder distribution: bernoulli, gaussian or laplace.")
    # optimisation
    batch_size: int = _field(64, "Images per step (factor_vae splits them in two halves).")
    steps: int | None = _field(3000, "Number of VAE updates (--epochs replaces it).")
    epochs: float | None = _field(None, "Passes over the data; sets steps = ceil(epochs * N / "
                                        "batch_size).")
    lr: float | None = _field(None, "Adam learning rate of the VAE (default: the method's).")
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    discriminator_lr: float = DISCRIMINATOR_ADAM["learning_rate"]
    discriminator_beta1: float = DISCRIMINATOR_ADAM["beta_1"]
    discriminator_beta2: float = DISCRIMINATOR_ADAM["beta_2"]
    # method hyper-parameters (None: the method's default)
    alpha: float | None = None
    beta: float | None = None
    gamma: float | None = None
    estimator: str | None = None
    c_init: float | None = None
    c_final: float | None = None
    c_steps: int | None = None
    capacity_weight: float | None = None
    tc_weight: float | None = None
    lambda_od: float | None = None
    lambda_d: float | None = None
    reg_anneal_steps: int | None = None
    reg_anneal_terms: str | None = _field(None, "Which terms the warm-up (--reg_anneal_steps) scales: "
                                                "all (SPEC) or reference (the poster's code: FactorVAE "
                                                "only the TC, beta-TCVAE only the dim-wise KL).")
    # execution and outputs
    seed: int = 0
    jit_compile: str = _field("auto", "auto (XLA on a GPU, off on CPU where it is about 2x slower), "
                                      "true or false.")
    mixed_precision: str | None = _field(None, "none (float32), auto (mixed_float16 on a GPU, "
                                               "mixed_bfloat16 on a CPU with AVX-512 BF16/AMX), "
                                               "mixed_bfloat16 or mixed_float16 (GPU only). Loss in "
                                               "float32.")
    strategy: str = _field("default", "default (one device), mirrored (all GPUs of this machine) or "
                                      "multi_worker (needs TF_CONFIG on every worker); --batch_size is "
                                      "the global batch.")
    steps_per_execution: str | int = _field("auto", "Training steps per call of the compiled train "
                                                    "function: auto (up to 50, dividing every callback "
                                                    "period) or a number dividing them. Callbacks and "
                                                    "the progress bar run once per call.")
    checkpoint_every: int = _field(500, "Steps between checkpoints (one is also written at the end).")
    summary_every: int = _field(50, "Steps between TensorBoard scalars loss/<term> (means over those "
                                    "steps).")
    image_every: int = _field(500, "Steps between image summaries (0: none).")
    metrics_every: int = _field(0, "Steps between disentanglement metrics (0: none).")
    estimates_every: int = _field(1000, "Steps between full-data estimates of index-code MI, total "
                                        "correlation and dimension-wise KL (TensorBoard estimates/*; "
                                        "0: none).")
    estimates_points: int = _field(2048, "Images of the fixed subset whose aggregate posterior those "
                                         "estimates use.")
    logdir: str = _field("runs", "Parent folder of run directories.")
    run_dir: str | None = _field(None, "Run directory (default: <logdir>/<model>-<dataset>-seed<seed>).")
    verbose: int = _field(1, "0 silent, 1 progress bar with ETA, 2 one line every 5% (for log files).")

    # ---------------------------------------------------------------- construction
    @classmethod
    def create(cls, preset="quick", **given):
        """Field defaults, then `preset`, then `given` (explicit values win). Raises ConfigError."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(given) - names)
        if unknown:
            raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}")
        values = {}
        if preset is not None:
            if preset not in PRESETS:
                raise ConfigError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
            entry = PRESETS[preset]
            if preset == "poster":
                method = given.get("model", cls.model)
                if method not in entry:
                    raise ConfigError(f"unknown model {method!r}; valid: {', '.join(METHODS)}")
                entry = entry[method]
            values.update(entry)
        values.update(given)
        # An explicit steps (epochs) replaces the preset's epochs (steps).
        if "steps" in given and "epochs" not in given:
            values["epochs"] = None
        if "epochs" in given and given["epochs"] is not None and "steps" not in given:
            values["steps"] = None
        values["preset"] = preset
        config = cls(**values)
        config.validate()
        return config

    def method_hparams(self):
        """{name: value} of the chosen method's hyper-parameters, as make_objective takes them, with
        the defaults filled in (lambda_d may stay None: make_objective derives it from lambda_od)."""
        defaults = METHOD_HPARAMS[self.model]
        return {name: defaults[name] if getattr(self, name) is None else getattr(self, name)
                for name in defaults}

    # ---------------------------------------------------------------- validation
    def validate(self):
        """Raise ConfigError (one line: the setting, its value, what is valid) on the first bad setting."""

        def bad(msg):
            raise ConfigError(msg)

        if self.model not in METHODS:
            bad(f"unknown model {self.model!r}; valid: {', '.join(METHODS)}")
        if self.arch not in ARCHITECTURES:
            bad(f"unknown arch {self.arch!r}; valid: {', '.join(ARCHITECTURES)}")
        if self.likelihood not in LIKELIHOODS:
            bad(f"unknown likelihood {self.likelihood!r}; valid: {', '.join(LIKELIHOODS)}")
        if str(self.jit_compile).lower() not in JIT_CHOICES:
            bad(f"jit_compile must be one of {', '.join(JIT_CHOICES)}, got {self.jit_compile!r}")
        if self.mixed_precision is not None and str(self.mixed_precision).lower() not in PRECISIONS:
            bad(f"mixed_precision must be one of {', '.join(PRECISIONS)}, got {self.mixed_precision!r}")
        if self.strategy not in STRATEGIES:
            bad(f"unknown strategy {self.strategy!r}; valid: {', '.join(STRATEGIES)}")
        _positive_int(self.latent_dim, "latent_dim")
        _positive_int(self.batch_size, "batch_size")
        if self.model == "factor_vae" and self.batch_size % 2:
            bad(f"batch_size must be even for factor_vae (the batch is split in two halves), "
                f"got {self.batch_size}")
        if self.steps is None and self.epochs is None:
            bad("give steps or epochs (a positive number)")
        if self.steps is not None:
            _positive_int(self.steps, "steps")
        if self.epochs is not None and not self.epochs > 0:
            bad(f"epochs must be > 0, got {self.epochs!r}")
        if self.train_subset is not None:
            _positive_int(self.train_subset, "train_subset")
        for name in ("checkpoint_every", "summary_every"):
            _positive_int(getattr(self, name), name)
        if not isinstance(self.estimates_points, int) or self.estimates_points < 2:
            bad(f"estimates_points must be an integer >= 2, got {self.estimates_points!r}")
        for name in ("image_every", "metrics_every", "estimates_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                bad(f"{name} must be an integer >= 0 (0 turns it off), got {getattr(self, name)!r}")
        if str(self.steps_per_execution).lower() != "auto":
            k = self._explicit_steps_per_execution()
            for name, period in self._callback_periods().items():
                if period % k:
                    bad(f"steps_per_execution={k} must divide {name}={period}: the run's callbacks "
                        f"run once per execution; pick a divisor of {name}, or auto")
        for name in ("lr", "discriminator_lr"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                bad(f"{name} must be > 0, got {value!r}")
        for name in ("adam_beta1", "adam_beta2", "discriminator_beta1", "discriminator_beta2"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                bad(f"{name} must be in [0, 1), got {value!r}")
        if self.image_shape is not None:
            shape = tuple(self.image_shape)
            if len(shape) != 3 or any(int(s) != s or s < 1 for s in shape):
                bad(f"image_shape must be (height, width, channels), got {self.image_shape!r}")
        self._validate_hparams()

    def _validate_hparams(self):
        given = {name: getattr(self, name) for name in HPARAM_FIELDS if getattr(self, name) is not None}
        try:
            check_hparams(self.model, **given)
        except ValueError as err:
            raise ConfigError(str(err)) from None

    # ---------------------------------------------------------------- resolution
    def resolved(self, image_shape, dataset_size):
        """A copy with the data's image_shape and size, concrete steps, lr and hyper-parameters."""
        values = dataclasses.asdict(self)
        values["image_shape"] = tuple(int(s) for s in image_shape)
        values["dataset_size"] = int(dataset_size)
        if self.epochs is not None:
            values["steps"] = int(math.ceil(self.epochs * dataset_size / self.batch_size))
        if self.lr is None:
            values["lr"] = DEFAULT_LR[self.model]
        values.update(self.method_hparams())
        from tfdisvae.networks import check_image_shape

        try:
            check_image_shape(self.arch, values["image_shape"])
        except ValueError as err:
            raise ConfigError(f"data set {self.dataset!r}: {err}") from None
        config = TrainConfig(**values)
        config.validate()
        return config

    def _explicit_steps_per_execution(self):
        value = self.steps_per_execution
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"steps_per_execution must be auto or a positive integer, got {value!r}")
        return value

    def _callback_periods(self):
        """{setting: period} of the step-periodic callbacks that are on."""
        return {name: getattr(self, name) for name in
                ("summary_every", "checkpoint_every", "image_every", "metrics_every")
                if getattr(self, name)}

    def resolve_steps_per_execution(self, start=0):
        """Steps per call of the compiled train function for a run from global step `start` to steps.

        Keras calls the callbacks once per execution, after its last step, so the value divides every
        callback period, `start` and `steps` (then every summary, checkpoint and image step still ends
        an execution, and the run stops exactly at `steps`). "auto": the largest such value up to
        AUTO_STEPS_PER_EXECUTION; an explicit value is lowered to the largest divisor of start and
        steps when they need it (a resumed run).
        """
        if self.steps is None:
            raise ConfigError("resolve_steps_per_execution needs concrete steps: call resolved() first")
        if str(self.steps_per_execution).lower() == "auto":
            periods = math.gcd(*self._callback_periods().values())
            k = max(d for d in range(1, AUTO_STEPS_PER_EXECUTION + 1) if periods % d == 0)
        else:
            k = self._explicit_steps_per_execution()
        return math.gcd(k, int(start), int(self.steps))

    def resolve_jit_compile(self):
        """True/False: "auto" is XLA on a GPU and off on CPU (XLA measured ~2x slower on CPU, TF-STACK)."""
        choice = str(self.jit_compile).lower()
        if choice == "auto":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU"))
        return choice == "true"

    def default_run_dir(self):
        """run_dir if set, else <logdir>/<model>-<dataset>-seed<seed>."""
        return self.run_dir or os.path.join(self.logdir, f"{self.model}-{self.dataset}-seed{self.seed}")

    # ---------------------------------------------------------------- JSON
    def to_dict(self):
        values = dataclasses.asdict(self)
        if values["image_shape"] is not None:
            values["image_shape"] = list(values["image_shape"])
        return values

    def to_json(self, path=None):
        """JSON text of every field; also written to `path` when given."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    @classmethod
    def from_dict(cls, values):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"config has unknown field(s) {', '.join(unknown)}; "
                              f"valid: {', '.join(sorted(names))}")
        values = dict(values)
        if values.get("image_shape") is not None:
            values["image_shape"] = tuple(values["image_shape"])
        config = cls(**values)
        config.validate()
        return config

    @classmethod
    def from_json(cls, text_or_path):
        """Inverse of to_json: accepts the JSON text or a path to a file holding it."""
        text = text_or_path
        if not text.lstrip().startswith("{"):
            with open(text_or_path, encoding="utf-8") as f:
                text = f.read()
        return cls.from_dict(json.loads(text))

    def differences(self, other, ignore=RESUMABLE_CHANGES):
        """[(field, self value, other value)] for fields that differ, except `ignore`."""
        a, b = self.to_dict(), other.to_dict()
        return [(k, a[k], b[k]) for k in a if k not in ignore and a[k] != b[k]]


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
