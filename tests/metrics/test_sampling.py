"""compute_metrics' shared encoding (every point encoded once, looked up by every metric) gives the numbers
of the per-metric path (each metric encoding its own images), on a small rendered grid."""

import numpy as np
import pytest

from tfdisvae.metrics import sampling
from tfdisvae.metrics.suite import compute_metrics, written_keys

SIZES = (3, 2, 3, 4, 4)   # 288 images, 64x64
NAMES = ("mig", "mmig", "aam", "elbo", "mig_discrete", "factor_vae_score", "dci", "sap", "unsupervised",
         "beta_vae_score", "modularity_explicitness")


@pytest.fixture(scope="module")
def data():
    from tfdisvae.data import load_ground_truth

    return load_ground_truth("dsprites", source="render", factor_sizes=SIZES)


@pytest.fixture(scope="module")
def model():
    # Freshly initialised (seeded), then made informative: the means' weights scaled up, the
    # log-variances set near -4, so the codes follow the images and every score is away from 0.
    import keras

    from tfdisvae.models import make_model

    keras.utils.set_random_seed(3)
    model = make_model("factor_vae", latent_dim=3, dataset_size=288)
    last = next(layer for layer in reversed(model.encoder.layers) if layer.get_weights())
    kernel, bias = last.get_weights()
    kernel[:, :3] *= 300.0
    kernel[:, 3:] *= 0.0
    bias[3:] = -4.0
    last.set_weights([kernel, bias])
    return model


def test_shared_encoding_gives_the_per_metric_numbers(model, data):
    kwargs = dict(seed=1, num_points=288, num_samples=300, dci_options={"n_estimators": 5})
    shared = compute_metrics(model, data, NAMES, **kwargs)
    separate = compute_metrics(model, data, NAMES, share_encoding=False, **kwargs)
    assert set(shared) == set(separate) and len(shared) > 40
    for key in ("mig", "kl", "index_code_mi", "factor_vae_eval_accuracy", "mig_discrete", "sap"):
        assert separate[key] > 0.01, key  # informative codes: a comparison that can fail
    for key in separate:
        np.testing.assert_allclose(shared[key], separate[key], rtol=2e-4, atol=2e-5, err_msg=key)
    for name in NAMES:  # the keys a study reads to know a metric was computed
        assert set(written_keys(name)) <= set(shared), name


def test_every_point_is_encoded_once_and_lookups_match_the_encoder(model, data):
    encoding = sampling.SharedEncoding(model, data, batch_size=64)
    rng = np.random.default_rng(0)
    first = rng.integers(0, data.num_examples, 500)        # repeats: each point encoded once
    means, log_vars = encoding.posterior_of(first)
    assert encoding.encoded == np.unique(first).size
    encoding.posterior_of(np.arange(data.num_examples))
    assert encoding.encoded == data.num_examples
    direct = sampling.posterior_from_model(model)(sampling.observations(data, data.factors(first)))
    np.testing.assert_allclose(means, direct[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(log_vars, direct[1], rtol=1e-5, atol=1e-6)
    # As a representation of codes sampled by factor classes, it looks the points up.
    classes = data.factors(first)
    np.testing.assert_allclose(sampling.represent(data, encoding, classes), direct[0], rtol=1e-5,
                               atol=1e-6)
    assert encoding.encoded == data.num_examples


def test_the_elbo_pass_fills_the_encoding_for_the_estimator(model, data):
    encoding = sampling.SharedEncoding(model, data)
    from tfdisvae.metrics.elbo import elbo_terms

    with_encoding = elbo_terms(model, data, seed=2, decomposition_samples=64, encoding=encoding)
    assert encoding.encoded == data.num_examples and encoding.has(np.arange(data.num_examples))
    again = elbo_terms(model, data, seed=2, decomposition_samples=64, encoding=encoding)
    plain = elbo_terms(model, data, seed=2, decomposition_samples=64)
    for key in plain:
        np.testing.assert_allclose(with_encoding[key], plain[key], rtol=1e-5, atol=1e-6, err_msg=key)
        np.testing.assert_allclose(again[key], plain[key], rtol=1e-5, atol=1e-6, err_msg=key)
