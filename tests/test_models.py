"""DisentanglingVAE: every method's train_step (also under XLA), the FactorVAE alternation, the model
surface, and the .keras round trip with both optimizers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfdisvae
from tfdisvae import models
from tfdisvae.config import METHODS, TrainConfig
from tfdisvae.objectives.methods import DEFAULT_HPARAMS

SHAPE = (32, 32, 1)
LATENT = 3


def _images(n, seed=0, shape=SHAPE):
    """Binary images: a random rectangle per image (a stand-in with structure, values 0/1)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, *shape), np.float32)
    for i in range(n):
        r, c = rng.integers(0, shape[0] - 8, size=2)
        h, w = rng.integers(3, 8, size=2)
        x[i, r:r + h, c:c + w, :] = 1.0
    return x


def _dataset(batch=8, n=32):
    return tf.data.Dataset.from_tensor_slices(_images(n)).batch(batch, drop_remainder=True).repeat()


def _model(method, **kwargs):
    kwargs.setdefault("dataset_size", 32)
    return models.make_model(method, latent_dim=LATENT, image_shape=SHAPE, seed=3, **kwargs)


@pytest.fixture(scope="module")
def trained_xla():
    """Every method after 3 steps of fit under jit_compile=True: {method: (model, history)}."""
    out = {}
    for method in METHODS:
        keras.utils.set_random_seed(0)
        model = _model(method)
        model.compile(jit_compile=True)
        history = model.fit(_dataset(), steps_per_epoch=3, epochs=1, verbose=0)
        out[method] = (model, history.history)
    return out


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_three_steps_under_xla(trained_xla, method):
    model, history = trained_xla[method]
    assert int(model.optimizer.iterations) == 3
    expected = {"loss", "reconstruction", "kl", "index_code_mi_minibatch", "total_correlation_minibatch",
                "dimwise_kl_minibatch", "elbo", "capacity", "dip", "regularisation_weight"}
    expected |= {f"kl_z{j}" for j in range(LATENT)}
    if method == "factor_vae":
        expected |= {"discriminator_loss", "discriminator_accuracy"}
        assert int(model.discriminator_optimizer.iterations) == 3
    assert set(history) == expected
    for name, values in history.items():
        assert np.isfinite(values[-1]), name
    # Identities of the logged terms: KL is the sum of the per-latent KLs, elbo = -(recon + kl).
    kl_sum = sum(history[f"kl_z{j}"][-1] for j in range(LATENT))
    np.testing.assert_allclose(history["kl"][-1], kl_sum, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(history["elbo"][-1],
                               -(history["reconstruction"][-1] + history["kl"][-1]), rtol=1e-5)
    # An untrained Bernoulli decoder predicts ~0.5 everywhere: about log 2 nats per pixel.
    assert history["reconstruction"][-1] == pytest.approx(np.prod(SHAPE) * np.log(2.0), rel=0.1)


def test_factor_vae_step_updates_vae_and_discriminator():
    model = _model("factor_vae")
    model.compile()
    before_vae = [v.numpy().copy() for v in model.vae_variables]
    before_d = [v.numpy().copy() for v in model.discriminator.trainable_variables]
    model.train_step(tf.constant(_images(8)))
    changed_vae = [not np.array_equal(a, v.numpy()) for a, v in zip(before_vae, model.vae_variables,
                                                                     strict=True)]
    changed_d = [not np.array_equal(a, v.numpy())
                 for a, v in zip(before_d, model.discriminator.trainable_variables, strict=True)]
    assert all(changed_vae), "every encoder/decoder variable moves after one Adam step"
    assert all(changed_d), "every discriminator variable moves after one Adam step"
    assert int(model.optimizer.iterations) == 1
    assert int(model.discriminator_optimizer.iterations) == 1


def test_factor_vae_encoder_gets_no_discriminator_loss_gradient():
    model = _model("factor_vae")
    x = tf.constant(_images(8))
    with tf.GradientTape(persistent=True) as tape:
        mean, log_var = model.encode_params(x, training=True)
        z = mean + tf.exp(0.5 * log_var)
        d_loss, _ = model._discriminator_terms(z[:4], z[4:])
        tc_logits = model.discriminator(z)
        tc = tfdisvae.objectives.density_ratio_tc(tc_logits)
    d_grads = tape.gradient(d_loss, model.encoder.trainable_variables)
    assert all(g is None for g in d_grads)
    # ... while the TC term of the VAE loss does reach the encoder.
    tc_grads = tape.gradient(tc, model.encoder.trainable_variables)
    assert all(g is not None for g in tc_grads)


def test_vae_step_matches_a_hand_computed_loss():
    """The logged loss of a VAE step equals BCE + analytic KL computed here with numpy, same noise."""
    model = _model("vae")
    model.compile(optimizer=keras.optimizers.SGD(0.0))  # lr 0: weights fixed, only the metrics move
    x = _images(8)
    state = model.seed_generator.state.numpy().copy()
    logs = model.train_step(tf.constant(x))
    # Re-draw the same noise: the step used the seed generator's next seed.
    model.seed_generator.state.assign(state)
    seed = tf.cast(model.seed_generator.next(), tf.int32)
    mean, log_var = (t.numpy() for t in model.encode_params(x))
    eps = tfdisvae.distributions.posterior(np.zeros_like(mean), np.zeros_like(log_var)).sample(
        seed=seed).numpy()
    z = mean + np.exp(0.5 * log_var) * eps
    logits = model.decoder(z).numpy().astype(np.float64)
    bce = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    recon = bce.reshape(8, -1).sum(axis=1).mean()
    kl = (0.5 * (np.exp(log_var) + mean**2 - 1 - log_var)).sum(axis=1).mean()
    np.testing.assert_allclose(float(logs["reconstruction"]), recon, rtol=1e-4)
    np.testing.assert_allclose(float(logs["kl"]), kl, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(float(logs["loss"]), recon + kl, rtol=1e-4)


def test_model_surface_shapes_and_distributions():
    model = _model("beta_vae_h")
    x = _images(4)
    mean, log_var = model.encode_params(x)
    assert mean.shape == log_var.shape == (4, LATENT)
    q = model.encode(x)
    np.testing.assert_allclose(q.mean().numpy(), mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(q.variance().numpy(), np.exp(log_var.numpy()), rtol=1e-5)
    assert model.prior.event_shape == (LATENT,)
    np.testing.assert_allclose(model.prior.stddev().numpy(), np.ones(LATENT))
    p = model.decode(mean)
    assert p.event_shape == SHAPE and p.log_prob(x).shape == (4,)
    recon = model.reconstruct(x).numpy()
    assert recon.shape == (4, *SHAPE) and recon.min() >= 0 and recon.max() <= 1
    np.testing.assert_allclose(recon, model(x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(recon, tf.sigmoid(model.decoder(mean)).numpy(), rtol=1e-6)
    assert model.sample(5, seed=1).shape == (5, *SHAPE)
    np.testing.assert_array_equal(model.sample(2, seed=7).numpy(), model.sample(2, seed=7).numpy())


def test_wrong_image_shape_names_both_shapes():
    model = _model("vae")
    with pytest.raises(ValueError, match=r"\(2, 64, 64, 1\).*32, 32, 1"):
        model.encode_params(np.zeros((2, 64, 64, 1), np.float32))
    model.compile()
    with pytest.raises(ValueError, match=r"64, 64, 1.*32, 32, 1"):
        model.fit(tf.data.Dataset.from_tensor_slices(np.zeros((4, 64, 64, 1), np.float32)).batch(2),
                  epochs=1, verbose=0)


def test_bad_arguments_give_clear_errors():
    with pytest.raises(ValueError, match="Unknown method 'nope'.*factor_vae"):
        models.make_model("nope")
    with pytest.raises(ValueError, match="dataset_size"):
        models.BetaTCVAE(latent_dim=2, image_shape=SHAPE)
    with pytest.raises(ValueError, match="not supported"):
        models.VAE(latent_dim=2, image_shape=(28, 28, 1))
    with pytest.raises(ValueError, match="defines the loss"):
        _model("vae").compile(loss="mse")
    with pytest.raises(ValueError, match="'factor_vae' method"):
        models.FactorVAE(method="vae")


def test_classes_and_make_model_from_config():
    assert isinstance(tfdisvae.FactorVAE(latent_dim=2, image_shape=SHAPE), models.DisentanglingVAE)
    assert tfdisvae.FactorVAE is models.FactorVAE is tfdisvae.factor_vae.FactorVAE
    for cls in (models.DisentanglingVAE, models.VAE, models.BetaVAEH, models.BetaVAEB,
                models.FactorVAE, models.BetaTCVAE, models.DIPVAEI, models.DIPVAEII):
        assert keras.saving.get_registered_name(cls) == f"tfdisvae>{cls.__name__}"
    for cls, method in [(models.VAE, "vae"), (models.BetaVAEH, "beta_vae_h"),
                        (models.BetaVAEB, "beta_vae_b"), (models.FactorVAE, "factor_vae"),
                        (models.DIPVAEI, "dip_vae_i"), (models.DIPVAEII, "dip_vae_ii")]:
        assert cls(latent_dim=2, image_shape=SHAPE).method == method
    config = TrainConfig.create(model="beta_tcvae", beta=3.0, estimator="mws").resolved(SHAPE, 100)
    model = models.make_model(config)
    assert (model.objective.alpha, model.objective.beta, model.objective.tc_estimator) == (1.0, 3.0,
                                                                                           "mws")
    assert model.dataset_size == 100 and model.image_shape == SHAPE
    assert model.hparams["gamma"] == DEFAULT_HPARAMS["beta_tcvae"]["gamma"]
    factor_config = TrainConfig.create(model="factor_vae").resolved(SHAPE, 100)
    assert type(models.make_model(factor_config)) is models.FactorVAE
    assert type(models.make_model("vae", image_shape=SHAPE)) is models.DisentanglingVAE


def test_a_disentangling_vae_of_factor_vae_is_a_factor_vae():
    """DisentanglingVAE(method="factor_vae"), as .keras files written before FactorVAE was its own
    class hold it ("tfdisvae>DisentanglingVAE" with that method), builds a FactorVAE that trains."""
    direct = models.DisentanglingVAE(method="factor_vae", latent_dim=LATENT, image_shape=SHAPE)
    config = {"module": "tfdisvae.models", "class_name": "DisentanglingVAE",
              "registered_name": "tfdisvae>DisentanglingVAE", "config": _model("factor_vae").get_config()}
    revived = keras.saving.deserialize_keras_object(config)
    for model in (direct, revived, models.DisentanglingVAE("factor_vae", image_shape=SHAPE)):
        assert type(model) is models.FactorVAE and model.discriminator is not None
    revived.compile()
    logs = revived.train_step(tf.constant(_images(8)))
    assert int(revived.discriminator_optimizer.iterations) == 1 and "discriminator_loss" in logs
    with pytest.raises(ValueError, match="vae has no discriminator"):
        _model("vae").compile(discriminator_optimizer="adam")


@pytest.mark.parametrize("method", METHODS)
def test_keras_file_round_trip(trained_xla, tmp_path, method):
    model, _ = trained_xla[method]
    path = str(tmp_path / f"{method}.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    assert len(loaded.weights) == len(model.weights) > 0
    for a, b in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    x = _images(4, seed=1)
    np.testing.assert_array_equal(model(x).numpy(), loaded(x).numpy())
    np.testing.assert_array_equal(model.encode_params(x)[1].numpy(),
                                  loaded.encode_params(x)[1].numpy())
    optimizers = [(model.optimizer, loaded.optimizer)]
    if method == "factor_vae":
        optimizers.append((model.discriminator_optimizer, loaded.discriminator_optimizer))
    for original, restored in optimizers:
        assert int(restored.iterations) == 3
        assert len(restored.variables) == len(original.variables) > 2
        for a, b in zip(original.variables, restored.variables, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(model.seed_generator.state.numpy(),
                                  loaded.seed_generator.state.numpy())


def test_term_means_are_the_means_since_the_last_reset():
    means = models.TermMeans(["a", "b", "c"])
    assert means.result() == {"a": 0.0, "b": 0.0, "c": 0.0}  # nothing seen: 0, as keras' Mean
    for row in ([1.0, 2.0, -3.0], [3.0, 6.0, 5.0]):
        means.update_state(tf.constant(row))
    assert {k: float(v) for k, v in means.result().items()} == {"a": 2.0, "b": 4.0, "c": 1.0}
    means.reset_state()
    means.update_state(tf.constant([7.0, 0.5, 0.25]))
    assert {k: float(v) for k, v in means.result().items()} == {"a": 7.0, "b": 0.5, "c": 0.25}
    model = models.make_model("factor_vae", latent_dim=3)
    assert model.metrics == [model.term_means]
    assert model.term_means.names == ("loss", "reconstruction", "kl", "index_code_mi_minibatch",
                                      "total_correlation_minibatch", "dimwise_kl_minibatch", "elbo",
                                      "capacity", "dip",
                                      "regularisation_weight", "kl_z0", "kl_z1", "kl_z2",
                                      "discriminator_loss", "discriminator_accuracy")
