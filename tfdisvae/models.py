"""DisentanglingVAE: the Keras model of every method of the table, and one class per method.

    model = tfdisvae.BetaVAEH(latent_dim=10)           # or make_model("beta_vae_h", latent_dim=10)
    model.compile()                                    # Adam at the method's learning rate
    model.fit(dataset, steps_per_epoch=1000)           # dataset of images [B, 64, 64, 1] in [0, 1]

The model holds the encoder q(z|x), the decoder p(x|z) (TFP distributions built in model code from the
networks' tensors) and the prior N(0, I). FactorVAE (tfdisvae.factor_vae) adds the discriminator's
optimizer and its alternating step; DisentanglingVAE(method="factor_vae") builds a FactorVAE.

train_step (every method, also under `compile(jit_compile=True)`): one reparameterised sample
z ~ q(z|x) with a stateless seed from the model's tracked SeedGenerator (so checkpoints carry the RNG
state), loss terms from `tfdisvae.objectives.compute_loss`, one Adam update of the encoder and decoder.
The global step fed to the objective (warm-up, capacity schedule) is `optimizer.iterations`, the number
of VAE updates so far.

Every term is a Keras metric (a batch-mean tracker, nats per image): loss, reconstruction, kl,
index_code_mi_minibatch, total_correlation_minibatch, dimwise_kl_minibatch (the step's minibatch
estimates), elbo, capacity, dip, regularisation_weight, kl_z0 ... kl_z{D-1}, and for factor_vae
discriminator_loss, discriminator_accuracy.
"""

import keras
import tensorflow as tf

from tfdisvae import distributions, networks, optimizers
from tfdisvae.data.dsprites import NUM_EXAMPLES as DSPRITES_IMAGES
from tfdisvae.distribute import global_batch, keras_reducible, local_rows, replica_context
from tfdisvae.objectives.methods import (
    DEFAULT_LR,
    METHOD_HPARAMS,
    METHODS,
    compute_loss,
    make_objective,
)

# The N of the monitored MI/TC/dimension-wise KL when a model is given no dataset_size: dSprites' size.
DEFAULT_DATASET_SIZE = DSPRITES_IMAGES

TERMS = ("loss", "reconstruction", "kl", "index_code_mi", "total_correlation", "dimwise_kl", "elbo",
         "capacity", "dip", "regularisation_weight")
# The step's decomposition is a minibatch estimate (MWS/MSS, or FactorVAE's density ratio): what the
# objective needs, but biased enough to log a negative TC or an MI above the KL. It is logged under
# these names; callbacks.FullDataEstimates logs the full-data estimates as estimates/<term>.
MINIBATCH_ESTIMATES = ("index_code_mi", "total_correlation", "dimwise_kl")


def logged_name(term):
    """The name a training term is logged under (progress bar, TensorBoard loss/<name>, history)."""
    return f"{term}_minibatch" if term in MINIBATCH_ESTIMATES else term


class TermMeans(keras.metrics.Metric):
    """Means of named scalar terms since the last reset, held in one [T] variable.

    One keras.metrics.Mean per term costs about ten graph ops a step each (the 21 terms of a Burgess
    VAE: some 200 ops); this is two variable updates and one division for all of them. `result()` is a
    dict {name: mean}, which Keras' fit merges into its logs as it does for every metric.
    """

    def __init__(self, names, name="terms", **kwargs):
        super().__init__(name=name, **kwargs)
        self.names = tuple(names)
        self.totals = self.add_variable(shape=(len(self.names),), initializer="zeros",
                                        name="totals")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, values):
        """values: [T] float, this step's terms in the order of `names`."""
        self.totals.assign_add(tf.cast(values, self.dtype))
        self.count.assign_add(tf.ones((), self.dtype))

    def result(self):
        means = tf.unstack(tf.math.divide_no_nan(self.totals, self.count), len(self.names))
        return dict(zip(self.names, means, strict=True))

    def reset_state(self):
        self.totals.assign(tf.zeros_like(self.totals))
        self.count.assign(tf.zeros_like(self.count))

    def get_config(self):
        return {**super().get_config(), "names": list(self.names)}


def _first(data):
    """Images from what a dataset yields: x, (x,), (x, y) or (x, y, w)."""
    if isinstance(data, (tuple, list)):
        return data[0]
    if isinstance(data, dict):
        for key in ("images", "image", "x"):
            if key in data:
                return data[key]
        raise ValueError(f"dataset elements are dicts with keys {sorted(data)}; give images under "
                         "'images' or yield the image tensor itself")
    return data


@keras.saving.register_keras_serializable(package="tfdisvae")
class DisentanglingVAE(keras.Model):
    """A VAE trained with one of the methods of `tfdisvae.objectives.methods.METHODS`.

    Args:
      method: "vae", "beta_vae_h", "beta_vae_b", "factor_vae", "beta_tcvae", "dip_vae_i", "dip_vae_ii"
        (default: the class's METHOD, "vae" for DisentanglingVAE).
      latent_dim: D, number of latents.
      image_shape: (H, W, C) of the images; networks.SUPPORTED_IMAGE_SHAPES lists what the arch takes.
      arch: "burgess" or "locatello".
      likelihood: "bernoulli" (decoder gives logits), "gaussian" or "laplace" (decoder gives the mean).
      dataset_size: N, the number of training images: beta_tcvae's MWS/MSS estimators need it; for the
        other methods it only sets the N of the monitored MI/TC/dimension-wise KL (default:
        DEFAULT_DATASET_SIZE).
      seed: seed of the SeedGenerator of the reparameterisation noise and the permutations.
      **hparams: the method's hyper-parameters, named as in `tfdisvae.objectives.make_objective`
        (beta, alpha, gamma, estimator, c_init, c_final, c_steps, capacity_weight, tc_weight, lambda_od,
        lambda_d, reg_anneal_steps, reg_anneal_terms). None or absent: the method's default.
    """

    METHOD = None  # the method of a method class (VAE, FactorVAE, ...)
    EXTRA_TERMS = ()  # terms logged after kl_z*: FactorVAE's discriminator terms
    OPTIMIZERS = ("optimizer",)  # what compile sets, in .keras files' compile config
    discriminator = None  # the TC discriminator of factor_vae
    discriminator_optimizer = None

    def __init_subclass__(cls, method=None, **kwargs):
        # `class VAE(DisentanglingVAE, method="vae")`: a method class, registered with Keras as
        # "tfdisvae>VAE" when it is one of tfdisvae's.
        super().__init_subclass__(**kwargs)
        if method is not None:
            cls.METHOD = method
            if cls.__module__.startswith("tfdisvae."):
                keras.saving.register_keras_serializable(package="tfdisvae")(cls)

    def __new__(cls, *args, **kwargs):
        # DisentanglingVAE(method="factor_vae"), as in .keras files written before FactorVAE was its
        # own class, is a FactorVAE.
        if cls is DisentanglingVAE and kwargs.get("method", args[0] if args else None) == "factor_vae":
            from tfdisvae.factor_vae import FactorVAE

            cls = FactorVAE
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, method=None, latent_dim=10, image_shape=(64, 64, 1), arch="burgess",
                 likelihood="bernoulli", dataset_size=None, seed=None, name=None, **hparams):
        method = method or self.METHOD or "vae"
        if self.METHOD is not None and method != self.METHOD:
            raise ValueError(f"{type(self).__name__} is the {self.METHOD!r} method, got method="
                             f"{method!r}; use DisentanglingVAE(method={method!r}) or "
                             f"make_model({method!r}).")
        layer_kwargs = {k: hparams.pop(k) for k in ("trainable", "dtype") if k in hparams}
        hparams = {k: v for k, v in hparams.items() if v is not None}
        objective = make_objective(method, **hparams)
        distributions.check_likelihood(likelihood)
        networks.check_image_shape(arch, image_shape)
        super().__init__(name=name or method, **layer_kwargs)
        self.method = method
        self.latent_dim = int(latent_dim)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.arch = arch
        self.likelihood = likelihood
        if dataset_size is None:
            if method == "beta_tcvae":
                raise ValueError("beta_tcvae needs dataset_size=N, the number of training images "
                                 "(its MWS/MSS estimators of log q(z) depend on it; dSprites: "
                                 f"{DSPRITES_IMAGES}).")
            dataset_size = DEFAULT_DATASET_SIZE
        self.dataset_size = int(dataset_size)
        self.seed = seed
        self.objective = objective
        self.hparams = {**METHOD_HPARAMS[method], **hparams}

        self.encoder = networks.make_encoder(arch, self.image_shape, self.latent_dim)
        self.decoder = networks.make_decoder(arch, self.image_shape, self.latent_dim)
        if self.uses_discriminator:
            self.discriminator = networks.make_discriminator(self.latent_dim)
        self.seed_generator = keras.random.SeedGenerator(seed, name="seed_generator")
        self.term_means = TermMeans([*map(logged_name, TERMS),
                                     *(f"kl_z{j}" for j in range(self.latent_dim)),
                                     *self.EXTRA_TERMS])
        # The networks are functional models, built on construction; mark this model built so that
        # save_weights, checkpoints and .keras files see every weight before any training step.
        self.build((None, *self.image_shape))

    @property
    def uses_discriminator(self):
        return self.objective.tc_estimator == "discriminator"

    def build(self, input_shape=None):
        self.built = True

    # ------------------------------------------------------------------ the model surface
    def _check_images(self, x):
        shape = tuple(x.shape[1:])
        if x.shape.rank != 4 or shape != self.image_shape:
            raise ValueError(
                f"{self.name}: images of shape {tuple(x.shape)} do not fit this model, which takes "
                f"[batch, {', '.join(str(s) for s in self.image_shape)}] (image_shape "
                f"{self.image_shape}); build the model with image_shape={shape} or resize the data.")

    def encode_params(self, x, training=False):
        """(mean, log_var) of q(z|x), each [batch, latent_dim], for images x [batch, H, W, C] in [0, 1]."""
        x = tf.convert_to_tensor(x)
        self._check_images(x)
        x = tf.cast(x, self.compute_dtype)
        out = tf.cast(self.encoder(x, training=training), tf.float32)
        mean, log_var = tf.split(out, 2, axis=-1)
        return mean, log_var

    def encode(self, x, training=False):
        """The posterior q(z|x): tfd.MultivariateNormalDiag, batch [batch], event [latent_dim]."""
        return distributions.posterior(*self.encode_params(x, training=training))

    @property
    def prior(self):
        """p(z) = N(0, I), event [latent_dim]."""
        return distributions.prior(self.latent_dim)

    def decode_params(self, z, training=False):
        """Decoder output [batch, H, W, C] for z [batch, latent_dim]: logits or mean (float32)."""
        return tf.cast(self.decoder(tf.convert_to_tensor(z, tf.float32), training=training), tf.float32)

    def decode(self, z, training=False):
        """The likelihood p(x|z): tfd.Independent over [H, W, C]; log_prob(x) is nats per image."""
        return distributions.likelihood(self.decode_params(z, training=training), self.likelihood)

    def decode_mean(self, z):
        """Mean image [batch, H, W, C] of p(x|z) (in [0, 1] for bernoulli)."""
        return distributions.likelihood_mean(self.decode_params(z), self.likelihood)

    def reconstruct(self, x):
        """decode_mean(posterior mean): [batch, H, W, C]."""
        mean, _ = self.encode_params(x)
        return self.decode_mean(mean)

    def sample(self, n, seed=None):
        """n images [n, H, W, C] decoded (means) from z ~ p(z). seed: int or stateless [2] seed."""
        if seed is None:
            seed = self._next_seed()
        elif isinstance(seed, int):
            seed = tf.constant([seed, 0], tf.int32)
        z = self.prior.sample(int(n), seed=seed)
        return self.decode_mean(z)

    def call(self, x, training=False):
        """Reconstructions (mean images) of x [batch, H, W, C]; the model's forward pass."""
        mean, _ = self.encode_params(x, training=training)
        return distributions.likelihood_mean(self.decode_params(mean, training=training),
                                             self.likelihood)

    # ------------------------------------------------------------------ losses
    def _next_seed(self):
        return tf.cast(self.seed_generator.next(), tf.int32)

    @property
    def vae_variables(self):
        """Trainable variables of the encoder and decoder (what the VAE optimizer updates)."""
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    @property
    def step(self):
        """The global step: VAE updates so far (the optimizer's iterations; 0 before compile)."""
        if getattr(self, "optimizer", None) is None:
            return tf.constant(0, tf.int64)
        return self.optimizer.iterations

    def _sample_z(self, mean, log_var, seed, ctx=None):
        """z = mean + exp(log_var / 2)·eps, [b, latent_dim], with eps [b, latent_dim] ~ N(0, I).

        eps is drawn for the global batch from the stateless `seed` (the same on every replica) and this
        replica's rows are taken, so a run over R replicas samples exactly what one device would.
        """
        rows = tf.shape(mean)[0]
        replicas = 1 if ctx is None else ctx.num_replicas_in_sync
        eps = tf.random.stateless_normal([replicas * rows, self.latent_dim], seed=seed)
        return mean + tf.exp(0.5 * log_var) * local_rows(ctx, eps, rows)

    def loss_terms(self, x, step=None, training=False):
        """All loss terms of images x (one posterior sample each), scalar float32 tensors, nats/image.

        Returns (terms, z) where terms is compute_loss's dict ("loss", "reconstruction", "kl",
        "kl_per_latent" [D], ...) and z [batch, latent_dim] the sample it used. For factor_vae the TC
        comes from the discriminator on z (gradients reach the encoder through z only).

        Under a tf.distribute strategy with R > 1 replicas, x is this replica's shard; the terms are
        computed on the global batch (every replica's reconstruction, mean, log_var, z and
        discriminator logits, gathered), so batch statistics — the MWS/MSS estimates of log q(z) for
        beta_tcvae and the monitored MI/TC/dimension-wise KL, DIP's covariances — see the global batch
        exactly as on one device. Every replica gets the same terms; see distribute.global_batch for
        gradients.
        """
        ctx = replica_context()
        x = tf.cast(x, tf.float32)
        mean, log_var = self.encode_params(x, training=training)
        z = self._sample_z(mean, log_var, self._next_seed(), ctx)
        reconstruction = -self.decode(z, training=training).log_prob(x)  # [batch], nats
        tc_logits = self.discriminator(z, training=training) if self.uses_discriminator else None
        terms_in = {"reconstruction": reconstruction, "mean": mean, "log_var": log_var, "z": z}
        if ctx is not None:
            d = self.latent_dim
            parts = [reconstruction[:, None], mean, log_var, z]
            if tc_logits is not None:
                parts.append(tc_logits)
            packed = global_batch(ctx, tf.concat([tf.cast(p, tf.float32) for p in parts], axis=1))
            terms_in = {"reconstruction": packed[:, 0], "mean": packed[:, 1:1 + d],
                        "log_var": packed[:, 1 + d:1 + 2 * d], "z": packed[:, 1 + 2 * d:1 + 3 * d]}
            if tc_logits is not None:
                tc_logits = packed[:, 1 + 3 * d:]
        terms = compute_loss(
            self.objective, **terms_in, step=self.step if step is None else step,
            dataset_size=self.dataset_size, tc_logits=tc_logits)
        return terms, z

    def _update_trackers(self, terms):
        """Add this step's terms to the running means; returns the means (the step's logs)."""
        parts = [tf.stack([tf.cast(terms[name], tf.float32) for name in TERMS]),
                 tf.cast(terms["kl_per_latent"], tf.float32)]
        if self.EXTRA_TERMS:
            parts.append(tf.stack([tf.cast(terms[name], tf.float32) for name in self.EXTRA_TERMS]))
        self.term_means.update_state(tf.concat(parts, axis=0))
        return self.term_means.result()

    # ------------------------------------------------------------------ Keras training API
    @property
    def metrics(self):
        return [self.term_means]

    def compile(self, optimizer=None, **kwargs):
        """Keras compile with the VAE optimizer (default Adam at the method's lr; a model attribute,
        tracked by checkpoints and .keras files). Other kwargs go to keras.Model.compile (jit_compile,
        steps_per_execution, ...); a `loss` is refused (the method defines it).
        """
        if kwargs.pop("loss", None) is not None:
            raise ValueError(f"{type(self).__name__}.compile: the method {self.method!r} defines the "
                             "loss; do not pass loss=.")
        if kwargs.pop("discriminator_optimizer", None) is not None:
            raise ValueError(f"{self.method} has no discriminator; discriminator_optimizer is only "
                             "for factor_vae.")
        if optimizer is None:
            optimizer = optimizers.Adam(DEFAULT_LR[self.method])
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.vae_variables)

    def _images(self, data):
        """The checked float32 images [batch, H, W, C] of a dataset element."""
        x = tf.cast(_first(data), tf.float32)
        self._check_images(x)
        return x

    def _vae_update(self, x):
        """One optimizer update of the encoder and decoder on images x; returns loss_terms' (terms, z)."""
        with tf.GradientTape() as tape:
            terms, z = self.loss_terms(x, training=True)
            # Loss scaling is the identity unless the optimizer is a LossScaleOptimizer
            # (mixed_float16), which unscales the gradients in apply_gradients.
            loss = self.optimizer.scale_loss(terms["loss"])
        grads = tape.gradient(loss, self.vae_variables)
        self.optimizer.apply_gradients(zip(grads, self.vae_variables, strict=True))
        return terms, z

    def train_step(self, data):
        terms, _ = self._vae_update(self._images(data))
        return keras_reducible(self._update_trackers(terms))

    def test_step(self, data):
        terms, _ = self.loss_terms(self._images(data), training=False)
        return keras_reducible(self._update_trackers(terms))

    # ------------------------------------------------------------------ serialisation
    def get_config(self):
        return {"method": self.method, "latent_dim": self.latent_dim,
                "image_shape": list(self.image_shape), "arch": self.arch,
                "likelihood": self.likelihood, "dataset_size": self.dataset_size, "seed": self.seed,
                "name": self.name, **self.hparams}

    def save_own_variables(self, store):
        # Keras leaves seed-generator states out of .keras files; keep the RNG state with the weights.
        super().save_own_variables(store)
        store["seed_generator_state"] = self.seed_generator.state.numpy()

    def load_own_variables(self, store):
        if "seed_generator_state" in store:
            self.seed_generator.state.assign(store["seed_generator_state"])
        super().load_own_variables({k: store[k] for k in store.keys() if k != "seed_generator_state"})

    def get_compile_config(self):
        if getattr(self, "optimizer", None) is None:
            return None
        return {name: keras.optimizers.serialize(getattr(self, name)) for name in self.OPTIMIZERS}

    def compile_from_config(self, config):
        self.compile(**{name: keras.optimizers.deserialize(config[name]) for name in self.OPTIMIZERS
                        if config.get(name)})


class VAE(DisentanglingVAE, method="vae"):
    """VAE (Kingma & Welling 2014): reconstruction + KL."""


class BetaVAEH(DisentanglingVAE, method="beta_vae_h"):
    """beta-VAE (Higgins et al. 2017): reconstruction + beta·KL (beta=4)."""


class BetaVAEB(DisentanglingVAE, method="beta_vae_b"):
    """beta-VAE with capacity (Burgess et al. 2018): reconstruction + capacity_weight·|KL − C(step)|."""


class BetaTCVAE(DisentanglingVAE, method="beta_tcvae"):
    """beta-TCVAE (Chen et al. 2018): reconstruction + alpha·MI + beta·TC + gamma·dimension-wise KL
    (MSS/MWS estimators; needs dataset_size)."""


class DIPVAEI(DisentanglingVAE, method="dip_vae_i"):
    """DIP-VAE-I (Kumar et al. 2018): reconstruction + KL + DIP(Cov of the means)."""


class DIPVAEII(DisentanglingVAE, method="dip_vae_ii"):
    """DIP-VAE-II (Kumar et al. 2018): reconstruction + KL + DIP(Cov of z)."""


def make_model(config_or_method, **kwargs):
    """The model of a TrainConfig (resolved or not) or of a method name plus keyword arguments: a
    FactorVAE for factor_vae, else a DisentanglingVAE.

    From a config: method, latent_dim, image_shape (default (64, 64, 1)), arch, likelihood,
    dataset_size, seed and the method's hyper-parameters; kwargs override them.
    """
    if isinstance(config_or_method, str):
        return DisentanglingVAE(method=config_or_method, **kwargs)
    if not hasattr(config_or_method, "method_hparams"):
        raise TypeError(f"make_model takes a TrainConfig or a method name ({', '.join(METHODS)}), "
                        f"got {type(config_or_method).__name__}.")
    c = config_or_method
    values = {"method": c.model, "latent_dim": c.latent_dim,
              "image_shape": tuple(c.image_shape or (64, 64, 1)), "arch": c.arch,
              "likelihood": c.likelihood, "dataset_size": c.dataset_size, "seed": c.seed,
              **c.method_hparams()}
    if c.model == "beta_tcvae" and values["dataset_size"] is None:
        values["dataset_size"] = c.train_subset
    return DisentanglingVAE(**{**values, **kwargs})


# FactorVAE subclasses DisentanglingVAE in its own module; importing it here registers
# "tfdisvae>FactorVAE" with Keras whenever this module is imported.
import tfdisvae.factor_vae  # noqa: E402, F401


def __getattr__(name):
    if name == "FactorVAE":  # tfdisvae.models.FactorVAE: an alias of tfdisvae.factor_vae.FactorVAE
        return tfdisvae.factor_vae.FactorVAE
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
