"""Our metrics against disentanglement_lib's own, unmodified metric code on identical inputs: IRS, the
unsupervised scores, the downstream tasks (logistic CV, GBT; reduced, strong), fairness and UDR.

    python benchmarks/dlib_parity.py --dlib_src DIR [--seeded_gbt]

DIR is a disentanglement_lib checkout (the folder holding disentanglement_lib/). Its evaluation/metrics
modules are imported as they are, with a minimal stand-in for gin (written to a temporary folder) that
applies the bindings this script sets. Inputs: a synthetic data set whose observation is its factor
classes and a fixed nonlinear representation; disentanglement_lib samples with its RandomState, and our
array functions get the very codes and factors it drew (recorded where it intervenes). With
--seeded_gbt its GradientBoostingClassifiers get random_state=0, as ours, so the GBT-based scores
compare without tie-breaking noise. Prints one line per metric: max |difference| and the first values.
"""
import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np

GIN_STAND_IN = '''"""Stand-in for gin: configurable(name) applies BINDINGS[name] as keyword defaults."""
import functools
REQUIRED = object()
BINDINGS = {}
def configurable(name=None, blacklist=None, **_):
    def deco(fn):
        key = name if isinstance(name, str) else fn.__name__
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **{**BINDINGS.get(key, {}), **kwargs})
        return wrapper
    if callable(name):
        return deco(name)
    return deco
'''

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--dlib_src", required=True, help="folder holding disentanglement_lib/")
parser.add_argument("--seeded_gbt", action="store_true")
args = parser.parse_args()
stub = tempfile.mkdtemp()
os.makedirs(os.path.join(stub, "gin"))
with open(os.path.join(stub, "gin", "__init__.py"), "w") as f:
    f.write(GIN_STAND_IN)
with open(os.path.join(stub, "gin", "tf.py"), "w") as f:
    f.write("from gin import *  # noqa\n")
sys.path[:0] = [stub, args.dlib_src]
warnings.filterwarnings("ignore")

import gin  # noqa: E402  (the stand-in)
from disentanglement_lib.evaluation.metrics import downstream_task as d_down  # noqa: E402
from disentanglement_lib.evaluation.metrics import fairness as d_fair  # noqa: E402
from disentanglement_lib.evaluation.metrics import irs as d_irs  # noqa: E402
from disentanglement_lib.evaluation.metrics import reduced_downstream_task as d_red  # noqa: E402
from disentanglement_lib.evaluation.metrics import strong_downstream_task as d_strong  # noqa: E402
from disentanglement_lib.evaluation.metrics import unsupervised_metrics as d_uns  # noqa: E402
from disentanglement_lib.evaluation.metrics import utils as d_utils  # noqa: E402
from disentanglement_lib.evaluation.udr.metrics import udr as d_udr  # noqa: E402
from sklearn import ensemble, linear_model, model_selection  # noqa: E402

from tfdisvae import metrics  # noqa: E402

if args.seeded_gbt:
    import functools
    import types

    from disentanglement_lib.evaluation.metrics import dci as d_dci
    seeded = functools.partial(ensemble.GradientBoostingClassifier, random_state=0)
    d_utils.gradient_boosting_classifier = seeded
    d_dci.ensemble = types.SimpleNamespace(GradientBoostingClassifier=seeded)
gin.BINDINGS["discretizer"] = {"num_bins": 20, "discretizer_fn": d_utils._histogram_discretize}


class GroundTruth:
    """disentanglement_lib's GroundTruthData interface; an observation is its factor classes."""

    def __init__(self, sizes):
        self.factors_num_values = list(sizes)
        self.num_factors = len(sizes)

    def sample_factors(self, n, rs):
        return np.stack([rs.randint(s, size=n) for s in self.factors_num_values], axis=1)

    def sample_observations_from_factors(self, factors, rs):
        return np.asarray(factors, np.float64)

    def sample(self, n, rs):
        factors = self.sample_factors(n, rs)
        return factors, self.sample_observations_from_factors(factors, rs)

    def sample_observations(self, n, rs):
        return self.sample(n, rs)[1]


def representation(sizes, dim, seed=0):
    """A fixed nonlinear map of the classes to `dim` latents (mixing, a ripple, an interaction)."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((len(sizes), dim)) * 0.5 + np.eye(len(sizes), dim) * 2
    weights = np.array([3.1, 5.3, 7.7, 2.9, 4.3])[:len(sizes)]

    def fn(obs):
        x = np.asarray(obs, np.float64) / (np.asarray(sizes) - 1.0)
        ripple = np.sin(np.arange(dim) * 1.7 + (x * weights).sum(1, keepdims=True) * 11.0)
        return x @ mix + 0.15 * ripple + 0.3 * np.tanh(x[:, :1] * x[:, 1:2])
    return fn


def show(name, ours, theirs, start):
    diff = max(abs(ours[k] - theirs[k]) for k in theirs if np.isfinite(theirs[k]))
    first = ", ".join(f"{k}={ours[k]:.4f}/{theirs[k]:.4f}" for k in list(theirs)[:3])
    print(f"{name}: max |diff| {diff:.2e} over {len(theirs)} values ({time.time() - start:.0f} s); "
          f"ours/theirs {first}", flush=True)


def draws(gt, fn, sizes, num_test, seed):
    """The (train, test) codes and factors disentanglement_lib's downstream tasks draw, [n, D] / [n, K]."""
    rs = np.random.RandomState(seed)
    out = []
    for n in sizes:
        train = d_utils.generate_batch_factor_code(gt, fn, n, rs, 16)
        test = d_utils.generate_batch_factor_code(gt, fn, num_test, rs, 16)
        out.append((train[0].T, train[1].T, test[0].T, test[1].T))
    return out


DSPRITES = (3, 6, 40, 32, 32)
gt, fn = GroundTruth(DSPRITES), representation(DSPRITES, 10)
t = time.time()
theirs = d_irs.compute_irs(gt, fn, np.random.RandomState(0), num_train=10000, batch_size=16)
mus, ys = d_utils.generate_batch_factor_code(gt, fn, 10000, np.random.RandomState(0), 16)
show("irs", metrics.irs(mus.T, ys.T), {"irs": theirs["IRS"]}, t)
t = time.time()
theirs = d_uns.unsupervised_metrics(gt, fn, np.random.RandomState(1), num_train=10000)
mus, _ = d_utils.generate_batch_factor_code(gt, fn, 10000, np.random.RandomState(1), 16)
show("unsupervised", metrics.unsupervised(mus.T), {k: float(v) for k, v in theirs.items()}, t)

SMALL = (4, 5, 6, 8)
gt, fn = GroundTruth(SMALL), representation(SMALL, 6)


def logistic_cv():
    return linear_model.LogisticRegressionCV(Cs=10, cv=model_selection.KFold(n_splits=5))


for label, predictor_fn, ours_name, options in [
        ("downstream logistic", logistic_cv, "logistic", {}),
        ("downstream logistic, ours at max_iter 1000", logistic_cv, "logistic", {"max_iter": 1000}),
        ("downstream gbt", d_utils.gradient_boosting_classifier, "gbt", {})]:
    t = time.time()
    gin.BINDINGS["predictor"] = {"predictor_fn": predictor_fn}
    theirs = d_down.compute_downstream_task(gt, fn, np.random.RandomState(2), num_train=[10, 100, 1000],
                                            num_test=2000)
    ours = {}
    for arrays in draws(gt, fn, [10, 100, 1000], 2000, 2):
        ours.update(metrics.downstream_task(*arrays, predictor=ours_name, **options))
    theirs = {k: v for k, v in theirs.items() if "factor" not in k}
    show(label, {k: ours[f"downstream_{ours_name}_{k.replace(':', '_')}"] for k in theirs}, theirs, t)

gin.BINDINGS["predictor"] = {"predictor_fn": d_utils.gradient_boosting_classifier}
t = time.time()
recorded = []
obtain = d_utils.obtain_representation


def recording(obs, f, batch_size):
    codes = obtain(obs, f, batch_size)
    recorded.append(codes.T)
    return codes


d_fair.utils.obtain_representation = recording
theirs = d_fair.compute_fairness(gt, fn, np.random.RandomState(3), num_train=2000,
                                 num_test_points_per_class=100)
d_fair.utils.obtain_representation = obtain
mus, ys = d_utils.generate_batch_factor_code(gt, fn, 2000, np.random.RandomState(3), 16)
codes = iter(recorded)
interventions = {(i, j): np.stack([next(codes) for _ in range(SMALL[j])])
                 for i in range(len(SMALL)) for j in range(len(SMALL)) if i != j}
ours = metrics.fairness(mus.T, ys.T, interventions)
theirs = {k.replace(":", "_"): float(v) for k, v in theirs.items()
          if k.count(":") == 2 and k.split(":")[1] in ("mean_pred", "max_pred", "mean_sens", "max_sens")}
show("fairness", ours, theirs, t)

t = time.time()
gin.BINDINGS["reduced_representation"] = {"correlation_measure": d_red.compute_factorwise_dci}
theirs = d_red.compute_reduced_downstream_task(gt, fn, np.random.RandomState(4), num_factors_to_remove=1,
                                               num_train=[500], num_test=500)
ours = metrics.reduced_downstream_task(*draws(gt, fn, [500], 500, 4)[0])
theirs = {k: theirs[k] for k in theirs if k.count(":") == 1}
show("reduced downstream", {k: ours["reduced_downstream_gbt_" + k.replace(":", "_")] for k in theirs},
     theirs, t)

t = time.time()
calls, drawn = [], []
intervene = d_strong.intervene


def recording_fn(x):
    calls.append(fn(x))
    return calls[-1]


def recording_intervene(*a):
    out = intervene(*a)
    drawn.append((a[2], out[0].copy(), out[1].copy()))
    return out


d_strong.intervene = recording_intervene
np.random.seed(5)  # noqa: NPY002  (its interventions use numpy's global RNG)
theirs = d_strong.compute_strong_downstream_task(gt, recording_fn, np.random.RandomState(5),
                                                 num_train=[500], num_test=500, n_experiment=3)
d_strong.intervene = intervene
rs = np.random.RandomState(5)
factors_train, factors_test = gt.sample_factors(500, rs), gt.sample_factors(500, rs)
codes = iter(calls[2:])
interventions = [(target, next(codes), a, next(codes), b) for target, a, b in drawn]
ours = metrics.strong_downstream_task(calls[0], factors_train, calls[1], factors_test, interventions)
show("strong downstream", {k: ours["strong_downstream_gbt_" + k.replace(":", "_")] for k in theirs},
     theirs, t)


def posterior(seed):
    f = representation(SMALL, 6, seed)

    def g(x):
        means = f(x)
        means[:, -1] = 0.0                       # one collapsed latent (KL 0)
        log_vars = np.full_like(means, -1.0)
        log_vars[:, -1] = 0.0
        kl = np.mean(0.5 * (means**2 + np.exp(log_vars) - log_vars - 1), axis=0)
        return means, kl
    return g


fns = [posterior(s) for s in range(4)]
for correlation in ("lasso", "spearman"):
    t = time.time()
    theirs = d_udr.compute_udr_sklearn(gt, fns, np.random.RandomState(6), batch_size=10,
                                       num_data_points=1000, correlation_matrix=correlation)
    reps, kls = d_udr._generate_representation_dataset(gt, fns, 10, 1000, np.random.RandomState(6))
    ours = metrics.udr(reps, kls, correlation)["model_scores"]
    show(f"udr {correlation}", {f"model{i}": ours[i] for i in range(4)},
         {f"model{i}": theirs["model_scores"][i] for i in range(4)}, t)
