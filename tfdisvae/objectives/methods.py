"""The method table: every method is a setting of one objective (poster Eq. 1, after Chen et al. 2018).

    loss = reconstruction + w · (alpha·MI + beta·TC + gamma·dimwise_KL  [+ DIP term])

reconstruction = −log p(x|z) and every term in nats per image, averaged over the batch; w is the
regularisation warm-up weight (`regularisation_weight`, linear 0 → 1 over `reg_anneal_steps`).

| method      | alpha, beta, gamma     | how the terms are computed                     | paper                 |
|-------------|------------------------|------------------------------------------------|-----------------------|
| vae         | 1, 1, 1                | "analytic": the three sum to the KL, so the    | Kingma & Welling 2014 |
|             |                        | exact analytic KL is used                      |                       |
| beta_vae_h  | B, B, B (B = 4)        | "analytic": recon + w·B·KL                     | Higgins et al. 2017   |
| beta_vae_b  | (1, 1, 1, unused)      | "analytic": recon + G·|KL − C(step)|, C linear | Burgess et al. 2018   |
|             |                        | c_init → c_final over c_steps; G = 100,        |                       |
|             |                        | C 0 → 25 nats over 100,000 steps; no w         |                       |
| factor_vae  | 1, 1 + G, 1 (G = 6.4)  | "discriminator": recon + w·(KL + G·TC_disc);   | Kim & Mnih 2018       |
|             |                        | the KL already holds one TC, hence beta = 1+G  |                       |
| beta_tcvae  | 1, 6.4, 1              | "mss" (default) or "mws" minibatch estimates   | Chen et al. 2018      |
|             |                        | of MI, TC and dimension-wise KL                |                       |
| dip_vae_i   | 1, 1, 1                | "analytic" KL + DIP(Cov[mean]);                | Kumar et al. 2018     |
|             |                        | lambda_od = 10, lambda_d = 10·lambda_od        |                       |
| dip_vae_ii  | 1, 1, 1                | "analytic" KL + DIP(Cov[z]);                   | Kumar et al. 2018     |
|             |                        | lambda_od = 10, lambda_d = lambda_od           |                       |

In general the "discriminator" estimator needs alpha = gamma and computes
recon + w·(gamma·KL + (beta − gamma)·TC_disc); "analytic" needs alpha = beta = gamma.

Warm-up (`reg_anneal_steps`, `reg_anneal_terms`; an explicit schedule of the step, `anneal_weights`):
w(step) = min(step / reg_anneal_steps, 1) multiplies, per term of the regulariser,
- reg_anneal_terms="all" (default, SPEC §2): every term but the reconstruction, for every method except
  beta_vae_b, whose capacity already anneals;
- reg_anneal_terms="reference": what the poster's code anneals (YannDubs/disentangling-vae,
  disvae/models/losses.py, `anneal_reg`): vae and beta_vae_h the whole B·KL (as "all"); factor_vae only
  the G·TC term (recon + KL + w·G·TC_disc); beta_tcvae only the gamma·dimwise-KL term
  (recon + alpha·MI + beta·TC + w·gamma·dimwise_KL); beta_vae_b nothing (its C schedule). The DIP methods
  are not in that code, so "reference" is refused for them. The reference counts steps from 1 (its
  counter is incremented before the loss), we from 0: its w at our step t is min((t + 1) / S, 1), a
  1/S shift we do not copy.

The logged decomposition ("index_code_mi", "total_correlation", "dimwise_kl") is always reported: from
the method's own estimator for beta_tcvae; from MSS, for monitoring only, where the loss uses the
analytic KL; for factor_vae, MI and dimension-wise KL from MSS and the TC from the discriminator.
"""

import dataclasses
import math

import tensorflow as tf

from tfdisvae.objectives.decomposition import ESTIMATORS, decompose_kl, kl_per_latent
from tfdisvae.objectives.dip import dip_regulariser
from tfdisvae.objectives.factor import density_ratio_tc

METHODS = ("vae", "beta_vae_h", "beta_vae_b", "factor_vae", "beta_tcvae", "dip_vae_i", "dip_vae_ii")
TC_ESTIMATORS = ("analytic", "mws", "mss", "discriminator")
# Which regulariser terms the warm-up weight multiplies (module docstring): the default first.
ANNEAL_TERMS = ("all", "reference")
REFERENCE_METHODS = ("vae", "beta_vae_h", "beta_vae_b", "factor_vae", "beta_tcvae")  # in the poster's code
# The terms a regulariser can hold, each with its own warm-up factor in `anneal_weights`.
REGULARISER_TERMS = ("kl", "index_code_mi", "total_correlation", "dimwise_kl", "dip")

# Hyper-parameters of make_objective per method, with their defaults (SPEC §2 table).
DEFAULT_HPARAMS = {
    "vae": {},
    "beta_vae_h": {"beta": 4.0},
    "beta_vae_b": {"c_init": 0.0, "c_final": 25.0, "c_steps": 100_000, "capacity_weight": 100.0},
    "factor_vae": {"tc_weight": 6.4},
    "beta_tcvae": {"alpha": 1.0, "beta": 6.4, "gamma": 1.0, "estimator": "mss"},
    "dip_vae_i": {"lambda_od": 10.0, "lambda_d": None},  # None: 10 * lambda_od
    "dip_vae_ii": {"lambda_od": 10.0, "lambda_d": None},  # None: lambda_od
}
# Every hyper-parameter a method takes, with its default: its own, then the warm-up's (every method).
METHOD_HPARAMS = {m: {**DEFAULT_HPARAMS[m], "reg_anneal_steps": 0, "reg_anneal_terms": "all"}
                  for m in METHODS}
# How check_hparams checks them: these > 0, these integers >= 0, estimator and reg_anneal_terms
# choices, every other a number >= 0 (lambda_d may be None).
_POSITIVE = ("beta", "capacity_weight")
_COUNTS = ("c_steps", "reg_anneal_steps")

# Adam learning rate of each method when none is given: the poster's code (YannDubs/disentangling-vae,
# hyperparam.ini; beta_vae_b's 1e-3 is also SPEC §2's); the DIP methods are not in it and take the VAE's.
DEFAULT_LR = {"vae": 5e-4, "beta_vae_h": 5e-4, "beta_vae_b": 1e-3, "factor_vae": 1e-4,
              "beta_tcvae": 5e-4, "dip_vae_i": 5e-4, "dip_vae_ii": 5e-4}
# FactorVAE's discriminator optimizer, Adam with these settings: Kim & Mnih 2018 and the poster's code
# (losses.py get_loss_f: lr_disc, betas).
DISCRIMINATOR_ADAM = {"learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9}


@dataclasses.dataclass(frozen=True)
class Capacity:
    """beta-VAE_B's capacity schedule: C(step) linear from c_init to c_final (nats) over `steps`;
    the loss term is weight·|KL − C(step)| (weight is Burgess et al.'s gamma, SPEC's G)."""

    c_init: float = 0.0
    c_final: float = 25.0
    steps: int = 100_000
    weight: float = 100.0


@dataclasses.dataclass(frozen=True)
class DIP:
    """DIP-VAE regulariser settings: kind "i" (Cov of the means) or "ii" (Cov of z)."""

    kind: str = "i"
    lambda_od: float = 10.0
    lambda_d: float = 100.0


def _fail(msg):
    raise ValueError(msg)


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@dataclasses.dataclass(frozen=True)
class Objective:
    """One row of the method table, fully resolved. See the module docstring.

    alpha, beta, gamma: the poster's weights of index-code MI, TC and dimension-wise KL. For factor_vae
    beta = 1 + tc_weight (the analytic KL already contains one TC). For beta_vae_b they are unused (1).
    tc_estimator: "analytic" | "mws" | "mss" | "discriminator".
    capacity: Capacity for beta_vae_b, else None.  dip: DIP for dip_vae_i/ii, else None.
    reg_anneal_steps: warm-up length of the regularisation weight (0: no warm-up).
    reg_anneal_terms: which terms the warm-up multiplies, "all" or "reference" (the poster's code).
    The hyper-parameters are checked by make_objective (check_hparams); construction checks that the
    weights fit the estimator.
    """

    method: str
    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 1.0
    tc_estimator: str = "analytic"
    capacity: Capacity | None = None
    dip: DIP | None = None
    reg_anneal_steps: int = 0
    reg_anneal_terms: str = "all"

    def __post_init__(self):
        if self.method not in METHODS:
            _fail(f"Unknown method {self.method!r}; choose one of {', '.join(METHODS)}.")
        for name in ("alpha", "beta", "gamma"):
            value = getattr(self, name)
            if not _is_number(value) or value < 0:
                _fail(f"Objective({self.method}): {name} must be a finite number >= 0, got {value!r}.")
        if self.tc_estimator not in TC_ESTIMATORS:
            _fail(f"Objective({self.method}): unknown tc_estimator {self.tc_estimator!r}; choose one "
                  f"of {', '.join(TC_ESTIMATORS)}.")
        if self.tc_estimator == "analytic" and not self.alpha == self.beta == self.gamma:
            _fail(f"Objective({self.method}): the analytic KL needs alpha == beta == gamma, got "
                  f"{self.alpha}, {self.beta}, {self.gamma}; use tc_estimator 'mss' or 'mws'.")
        if self.tc_estimator == "discriminator" and self.alpha != self.gamma:
            _fail(f"Objective({self.method}): the discriminator estimator needs alpha == gamma, got "
                  f"{self.alpha}, {self.gamma}.")
        if self.tc_estimator == "discriminator" and self.beta < self.gamma:
            _fail(f"Objective({self.method}): the discriminator estimator needs beta >= gamma "
                  f"(beta = gamma + tc_weight), got beta={self.beta}, gamma={self.gamma}.")

    def to_dict(self):
        """Plain JSON-ready dict (nested dicts for capacity and dip)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        """Inverse of to_dict; unknown keys raise ValueError."""
        d = dict(d)
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        if unknown:
            _fail(f"Objective.from_dict: unknown keys {unknown}; valid keys: {', '.join(sorted(fields))}.")
        if d.get("capacity") is not None and not isinstance(d["capacity"], Capacity):
            d["capacity"] = Capacity(**d["capacity"])
        if d.get("dip") is not None and not isinstance(d["dip"], DIP):
            d["dip"] = DIP(**d["dip"])
        return cls(**d)


def check_hparams(method, **hparams):
    """Every hyper-parameter of `method`, the defaults of METHOD_HPARAMS filled in. The one check of
    them (make_objective and TrainConfig use it): ValueError, one line naming the setting, its value
    and what is valid, on an unknown method, name or value."""
    if method not in METHODS:
        _fail(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    takes = METHOD_HPARAMS[method]
    unknown = sorted(set(hparams) - set(takes))
    if unknown:
        _fail(f"{unknown[0]} is not a hyper-parameter of {method}; {method} takes: {', '.join(takes)}")
    h = {**takes, **hparams}
    for name, value in h.items():
        if name == "estimator":
            if value not in ESTIMATORS:
                _fail(f"unknown estimator {value!r}; valid: {', '.join(ESTIMATORS)}")
        elif name == "reg_anneal_terms":
            if value not in ANNEAL_TERMS:
                _fail(f"reg_anneal_terms must be one of {', '.join(ANNEAL_TERMS)}, got {value!r}")
            if value == "reference" and method not in REFERENCE_METHODS:
                _fail(f"reg_anneal_terms=reference is the poster's code's schedule, which has no "
                      f"{method}; use all")
        elif name in _COUNTS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                _fail(f"{name} must be an integer >= 0 for {method}, got {value!r}")
        elif name in _POSITIVE:
            if not (_is_number(value) and value > 0):
                _fail(f"{name} must be > 0 for {method}, got {value!r}")
        elif not (value is None and name == "lambda_d") and not (_is_number(value) and value >= 0):
            _fail(f"{name} must be >= 0 for {method}, got {value!r}")
    return h


def make_objective(method, **hparams):
    """Resolve a method name and its hyper-parameters (DEFAULT_HPARAMS: names and defaults; lambda_d
    None: 10·lambda_od for dip_vae_i, lambda_od for dip_vae_ii) into an Objective (the module table)."""
    h = check_hparams(method, **hparams)
    anneal = {"reg_anneal_steps": h["reg_anneal_steps"], "reg_anneal_terms": h["reg_anneal_terms"]}
    if method == "vae":
        return Objective(method, **anneal)
    if method == "beta_vae_h":
        b = float(h["beta"])
        return Objective(method, alpha=b, beta=b, gamma=b, **anneal)
    if method == "beta_vae_b":
        cap = Capacity(float(h["c_init"]), float(h["c_final"]), h["c_steps"],
                       float(h["capacity_weight"]))
        return Objective(method, capacity=cap, **anneal)
    if method == "factor_vae":
        return Objective(method, alpha=1.0, beta=1.0 + float(h["tc_weight"]), gamma=1.0,
                         tc_estimator="discriminator", **anneal)
    if method == "beta_tcvae":
        return Objective(method, alpha=float(h["alpha"]), beta=float(h["beta"]),
                         gamma=float(h["gamma"]), tc_estimator=h["estimator"], **anneal)
    # dip_vae_i / dip_vae_ii
    lambda_od = float(h["lambda_od"])
    if h["lambda_d"] is None:
        lambda_d = 10.0 * lambda_od if method == "dip_vae_i" else lambda_od
    else:
        lambda_d = float(h["lambda_d"])
    kind = "i" if method == "dip_vae_i" else "ii"
    return Objective(method, dip=DIP(kind, lambda_od, lambda_d), **anneal)


def _linear_ramp(step, steps):
    """min(step / steps, 1) as float32 (1 when steps == 0)."""
    if steps == 0:
        return tf.constant(1.0, tf.float32)
    step = tf.cast(step, tf.float32)
    return tf.clip_by_value(step / float(steps), 0.0, 1.0)


def regularisation_weight(objective, step):
    """Warm-up weight w(step) = min(step / reg_anneal_steps, 1); 1 when reg_anneal_steps == 0.

    Scalar float32 tensor; step is the 0-based optimizer step (int or scalar tensor).
    """
    return _linear_ramp(step, objective.reg_anneal_steps)


def anneal_weights(objective, step):
    """The warm-up schedule: {term: factor} for each term of REGULARISER_TERMS at `step`.

    Each factor is w(step) = regularisation_weight(objective, step) where the objective's
    reg_anneal_terms anneals that term, else 1 (scalar float32 tensors). beta_vae_b: every factor is 1
    (its capacity schedule replaces the warm-up). See the module docstring for the two schedules.
    """
    w = regularisation_weight(objective, step)
    one = tf.constant(1.0, tf.float32)
    if objective.capacity is not None:
        return dict.fromkeys(REGULARISER_TERMS, one)
    if objective.reg_anneal_terms == "all":
        return dict.fromkeys(REGULARISER_TERMS, w)
    # "reference" (YannDubs/disentangling-vae losses.py): FactorKLoss anneals gamma·tc_loss only,
    # BtcvaeLoss gamma·dw_kl_loss only, BetaHLoss (also the VAE) beta·kl_loss.
    annealed = {"factor_vae": ("total_correlation",), "beta_tcvae": ("dimwise_kl",)}.get(
        objective.method, ("kl",))
    return {term: (w if term in annealed else one) for term in REGULARISER_TERMS}


def capacity_at(objective, step):
    """beta-VAE_B capacity C(step) in nats, linear from c_init to c_final over c_steps (0 otherwise).

    Scalar float32 tensor. With c_steps == 0 it is c_final from the start.
    """
    cap = objective.capacity
    if cap is None:
        return tf.constant(0.0, tf.float32)
    frac = _linear_ramp(step, cap.steps)
    return tf.constant(cap.c_init, tf.float32) + (cap.c_final - cap.c_init) * frac


def compute_loss(objective, *, reconstruction, mean, log_var, z, step, dataset_size, tc_logits=None):
    """All loss terms of one batch for `objective`, as scalar float32 tensors (nats per image).

    Args:
      objective: an Objective (make_objective).
      reconstruction: [B] −log p(x|z) per image, nats.
      mean, log_var, z: [B, D] posterior parameters and the reparameterised sample.
      step: scalar int tensor, the 0-based optimizer step (drives warm-up and capacity).
      dataset_size: N, the number of training examples (MWS/MSS need it; also used for monitoring).
      tc_logits: [B, 2] discriminator logits on z (required for factor_vae); the encoder gets the TC
        gradient through them, so do not stop_gradient z here.
    Returns:
      dict with "loss" (minimised), "reconstruction", "kl" (analytic, batch mean), "kl_per_latent" ([D],
      batch mean), "index_code_mi", "total_correlation", "dimwise_kl", "elbo" (= −(reconstruction + kl)),
      "capacity", "dip" (0 where unused), "regularisation_weight".
    """
    # Numerics in float32 even under a mixed-precision policy.
    reconstruction = tf.cast(reconstruction, tf.float32)
    mean = tf.cast(mean, tf.float32)
    log_var = tf.cast(log_var, tf.float32)
    z = tf.cast(z, tf.float32)

    recon = tf.reduce_mean(reconstruction)
    kl_latent = tf.reduce_mean(kl_per_latent(mean, log_var), axis=0)  # [D]
    kl = tf.reduce_sum(kl_latent)
    weight = regularisation_weight(objective, step)
    capacity = capacity_at(objective, step)

    estimator = objective.tc_estimator if objective.tc_estimator in ("mws", "mss") else "mss"
    terms = decompose_kl(z, mean, log_var, dataset_size, estimator)
    mi, tc, dimwise = terms["index_code_mi"], terms["total_correlation"], terms["dimwise_kl"]

    dip = tf.constant(0.0, tf.float32)
    if objective.dip is not None:
        dip = dip_regulariser(mean, log_var, objective.dip.kind, objective.dip.lambda_od,
                              objective.dip.lambda_d)

    a, b, g = objective.alpha, objective.beta, objective.gamma
    f = anneal_weights(objective, step)
    if objective.capacity is not None:
        # Burgess et al. 2018: G·|KL − C|; the capacity schedule replaces the warm-up.
        regulariser = objective.capacity.weight * tf.abs(kl - capacity) + dip
    else:
        if objective.tc_estimator == "analytic":
            regulariser = f["kl"] * b * kl
        elif objective.tc_estimator == "discriminator":
            if tc_logits is None:
                _fail(f"compute_loss({objective.method}): tc_logits are required with the "
                      "discriminator TC estimator; pass discriminator(z) logits [batch, 2].")
            tc = density_ratio_tc(tc_logits)
            regulariser = f["kl"] * g * kl + f["total_correlation"] * (b - g) * tc
        else:
            regulariser = (f["index_code_mi"] * a * mi + f["total_correlation"] * b * tc
                           + f["dimwise_kl"] * g * dimwise)
        regulariser = regulariser + f["dip"] * dip
    loss = recon + regulariser

    return {
        "loss": loss,
        "reconstruction": recon,
        "kl": kl,
        "kl_per_latent": kl_latent,
        "index_code_mi": mi,
        "total_correlation": tc,
        "dimwise_kl": dimwise,
        "elbo": -(recon + kl),
        "capacity": capacity,
        "dip": dip,
        "regularisation_weight": weight,
    }
