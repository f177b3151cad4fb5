"""DisentanglingVAE: one Keras model for every method of the table, and one class per method.

    model = tfdisvae.FactorVAE(latent_dim=10)          # or make_model("factor_vae", latent_dim=10)
    model.compile()                                    # Adam at the method's learning rate
    model.fit(dataset, steps_per_epoch=1000)           # dataset of images [B, 64, 64, 1] in [0, 1]

The model holds the encoder q(z|x), the decoder p(x|z) (TFP distributions built in model code from the
networks' tensors), the prior N(0, I), and for factor_vae the discriminator with its own optimizer.

train_step (every method, also under `compile(jit_compile=True)`):
- one reparameterised sample z ~ q(z|x) with a stateless seed from the model's tracked SeedGenerator (so
  checkpoints carry the RNG state), loss terms from `tfdisvae.objectives.compute_loss`, one Adam update of
  the encoder and decoder;
- factor_vae (Kim & Mnih 2018, Algorithm 2): the batch is split in halves x1, x2. The VAE loss is computed
  on x1 with TC from D(z1) and the VAE is updated (only the encoder and decoder: the discriminator's weights
  are not in that update). Then the discriminator is trained to tell stop_gradient(z1) from
  permute_dims(stop_gradient(z2)) with its own optimizer, so the encoder never gets gradients of the
  discriminator loss.
The global step fed to the objective (warm-up, capacity schedule) is `optimizer.iterations`, the number of
VAE updates so far.

Every term is a Keras metric (a batch-mean tracker, nats per image): loss, reconstruction, kl,
index_code_mi_minibatch, total_correlation_minibatch, dimwise_kl_minibatch (the step's minibatch
estimates), elbo, capacity, dip, regularisation_weight, kl_z0 ... kl_z{D-1}, and for factor_vae
discriminator_loss, discriminator_accuracy.
"""

import keras
import tensorflow as tf

from tfdisvae import distributions, networks, optimizers
from tfdisvae.config import DEFAULT_LR, METHODS
from tfdisvae.objectives import factor
from tfdisvae.objectives.methods import DEFAULT_HPARAMS, compute_loss, make_objective

TERMS = ("loss", "reconstruction", "kl", "index_code_mi", "total_correlation", "dimwise_kl", "elbo",
         "capacity", "dip", "regularisation_weight")
# The step's decomposition is a minibatch estimate (MWS/MSS, or FactorVAE's density ratio): what the
# objective needs, but biased enough to log a negative TC or an MI above the KL. It is logged under
# these names; callbacks.FullDataEstimates logs the full-data estimates as estimates/<term>.
MINIBATCH_ESTIMATES = ("index_code_mi", "total_correlation", "dimwise_kl")


def logged_name(term):
    """The name a training term is logged under (progress bar, TensorBoard loss/<name>, history)."""
    return f"{term}_minibatch" if term in MINIBATCH_ESTIMATES else term
DISCRIMINATOR_TERMS = ("discriminator_loss", "discriminator_accuracy")


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


def _keras_reducible(logs):
    """The step's logs in a form Keras can reduce across workers.

    Under MultiWorkerMirroredStrategy Keras 3.15 reduces every logged value with
    `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars ("Invalid reduction dimension 0 for
    input with 0 dimensions"); a [1] vector reduces to the same scalar. Other strategies: unchanged.
    """
    if not isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        return logs
    return {name: tf.reshape(value, [1]) if value.shape.rank == 0 else value
            for name, value in logs.items()}


def _replica_context():
    """The replica context of a tf.distribute strategy with more than one replica, else None."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return None
    return ctx


def _global_batch(ctx, local):
    """Every replica's rows of `local` [b, ...], in replica order: [R·b, ...] (`local` itself if ctx is None).

    The values are the same on every replica; gradients flow only into this replica's own rows. A loss
    computed on global tensors is then the same number on every replica, and the sum over replicas of
    each replica's gradient (what the optimizer's cross-replica all-reduce does) is exactly the
    single-device gradient of that loss on the global batch.
    """
    if ctx is None:
        return local
    gathered = ctx.all_gather(tf.stop_gradient(local), axis=0)
    rows = tf.shape(local)[0]
    start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * rows
    after = (ctx.num_replicas_in_sync - 1) * rows - start
    paddings = tf.concat([[[start, after]], tf.zeros([local.shape.rank - 1, 2], tf.int32)], axis=0)
    return gathered + tf.pad(local - tf.stop_gradient(local), paddings)


def _local_rows(ctx, global_tensor, rows):
    """This replica's `rows` rows of a global-batch tensor (the tensor itself if ctx is None)."""
    if ctx is None:
        return global_tensor
    start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * rows
    return global_tensor[start:start + rows]


@keras.saving.register_keras_serializable(package="tfdisvae")
class DisentanglingVAE(keras.Model):
    """A VAE trained with one of the methods of `tfdisvae.config.METHODS`.

    Args:
      method: "vae", "beta_vae_h", "beta_vae_b", "factor_vae", "beta_tcvae", "dip_vae_i", "dip_vae_ii".
      latent_dim: D, number of latents.
      image_shape: (H, W, C) of the images; networks.SUPPORTED_IMAGE_SHAPES lists what the arch takes.
      arch: "burgess" or "locatello".
      likelihood: "bernoulli" (decoder gives logits), "gaussian" or "laplace" (decoder gives the mean).
      dataset_size: N, the number of training images: beta_tcvae's MWS/MSS estimators need it; for the
        other methods it only sets the N of the monitored MI/TC/dimension-wise KL (default: 737,280,
        dSprites).
      seed: seed of the SeedGenerator of the reparameterisation noise and the permutations.
      **hparams: the method's hyper-parameters, named as in `tfdisvae.objectives.make_objective`
        (beta, alpha, gamma, estimator, c_init, c_final, c_steps, capacity_weight, tc_weight, lambda_od,
        lambda_d, reg_anneal_steps, reg_anneal_terms). None or absent: the method's default.
    """

    def __init__(self, method="vae", latent_dim=10, image_shape=(64, 64, 1), arch="burgess",
                 likelihood="bernoulli", dataset_size=None, seed=None, name=None, **hparams):
        if method not in METHODS:
            raise ValueError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.")
        layer_kwargs = {k: hparams.pop(k) for k in ("trainable", "dtype") if k in hparams}
        hparams = {k: v for k, v in hparams.items() if v is not None}
        if likelihood not in distributions.LIKELIHOODS:
            raise ValueError(f"Unknown likelihood {likelihood!r}; choose one of "
                             f"{', '.join(distributions.LIKELIHOODS)}.")
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
                                 "(its MWS/MSS estimators of log q(z) depend on it; dSprites: 737280).")
            dataset_size = 737_280
        self.dataset_size = int(dataset_size)
        self.seed = seed
        self.objective = make_objective(method, **hparams)
        self.hparams = {**DEFAULT_HPARAMS[method], "reg_anneal_steps": 0, "reg_anneal_terms": "all",
                        **hparams}

        self.encoder = networks.make_encoder(arch, self.image_shape, self.latent_dim)
        self.decoder = networks.make_decoder(arch, self.image_shape, self.latent_dim)
        self.discriminator = (networks.make_discriminator(self.latent_dim)
                              if self.uses_discriminator else None)
        self.seed_generator = keras.random.SeedGenerator(seed, name="seed_generator")
        self.discriminator_optimizer = None

        names = [*map(logged_name, TERMS), *(f"kl_z{j}" for j in range(self.latent_dim))]
        if self.uses_discriminator:
            names += DISCRIMINATOR_TERMS
        self.term_means = TermMeans(names)
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
        return mean + tf.exp(0.5 * log_var) * _local_rows(ctx, eps, rows)

    def loss_terms(self, x, step=None, training=False):
        """All loss terms of images x (one posterior sample each), scalar float32 tensors, nats/image.

        Returns (terms, z) where terms is compute_loss's dict ("loss", "reconstruction", "kl",
        "kl_per_latent" [D], ...) and z [batch, latent_dim] the sample it used. For factor_vae the TC
        comes from the discriminator on z (gradients reach the encoder through z only).

        Under a tf.distribute strategy with R > 1 replicas, x is this replica's shard; the terms are
        computed on the global batch (every replica's reconstruction, mean, log_var, z and
        discriminator logits, gathered), so batch statistics — the MWS/MSS estimates of log q(z) for
        beta_tcvae and the monitored MI/TC/dimension-wise KL, DIP's covariances — see the global batch
        exactly as on one device. Every replica gets the same terms; see _global_batch for gradients.
        """
        ctx = _replica_context()
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
            packed = _global_batch(ctx, tf.concat([tf.cast(p, tf.float32) for p in parts], axis=1))
            terms_in = {"reconstruction": packed[:, 0], "mean": packed[:, 1:1 + d],
                        "log_var": packed[:, 1 + d:1 + 2 * d], "z": packed[:, 1 + 2 * d:1 + 3 * d]}
            if tc_logits is not None:
                tc_logits = packed[:, 1 + 3 * d:]
        terms = compute_loss(
            self.objective, **terms_in, step=self.step if step is None else step,
            dataset_size=self.dataset_size, tc_logits=tc_logits)
        return terms, z

    def _discriminator_terms(self, z_real, z_other, ctx=None):
        """Discriminator loss/accuracy on stop_gradient(z_real) vs permute_dims(stop_gradient(z_other)).

        Under a strategy the permutation runs over the global batch of z_other (the same seed on every
        replica) and the loss over the global batch of logits, as on one device.
        """
        rows = tf.shape(z_other)[0]
        z_other = _global_batch(ctx, tf.stop_gradient(z_other))
        z_perm = _local_rows(ctx, factor.permute_dims(z_other, self._next_seed()), rows)
        real_logits = self.discriminator(tf.stop_gradient(z_real), training=True)
        perm_logits = self.discriminator(z_perm, training=True)
        if ctx is not None:
            packed = _global_batch(ctx, tf.concat([real_logits, perm_logits], axis=1))
            real_logits, perm_logits = packed[:, :2], packed[:, 2:]
        return (factor.discriminator_loss(real_logits, perm_logits),
                factor.discriminator_accuracy(real_logits, perm_logits))

    def _update_trackers(self, terms):
        """Add this step's terms to the running means; returns the means (the step's logs)."""
        scalars = [terms[name] for name in TERMS]
        parts = [tf.stack([tf.cast(v, tf.float32) for v in scalars]),
                 tf.cast(terms["kl_per_latent"], tf.float32)]
        if self.uses_discriminator:
            parts.append(tf.stack([tf.cast(terms[name], tf.float32) for name in DISCRIMINATOR_TERMS]))
        self.term_means.update_state(tf.concat(parts, axis=0))
        return self.term_means.result()

    # ------------------------------------------------------------------ Keras training API
    @property
    def metrics(self):
        return [self.term_means]

    def compile(self, optimizer=None, discriminator_optimizer=None, **kwargs):
        """Keras compile with the VAE optimizer (default Adam at the method's lr) and, for factor_vae,
        the discriminator's (default Adam lr 1e-4, beta_1 0.5, beta_2 0.9, Kim & Mnih 2018). Both are
        model attributes, tracked by checkpoints and .keras files. Other kwargs go to keras.Model.compile
        (jit_compile, steps_per_execution, ...); a `loss` is refused (the method defines it).
        """
        if kwargs.get("loss") is not None:
            raise ValueError(f"{type(self).__name__}.compile: the method {self.method!r} defines the "
                             "loss; do not pass loss=.")
        kwargs.pop("loss", None)
        if optimizer is None:
            optimizer = optimizers.Adam(DEFAULT_LR[self.method])
        super().compile(optimizer=optimizer, **kwargs)
        self.optimizer.build(self.vae_variables)
        if self.uses_discriminator:
            if discriminator_optimizer is None:
                discriminator_optimizer = optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)
            self.discriminator_optimizer = keras.optimizers.get(discriminator_optimizer)
            if (self.dtype_policy.name == "mixed_float16" and not isinstance(
                    self.discriminator_optimizer, keras.optimizers.LossScaleOptimizer)):
                # As Keras does for the main optimizer: float16 gradients need loss scaling.
                self.discriminator_optimizer = keras.optimizers.LossScaleOptimizer(
                    self.discriminator_optimizer)
            self.discriminator_optimizer.build(self.discriminator.trainable_variables)
        elif discriminator_optimizer is not None:
            raise ValueError(f"{self.method} has no discriminator; discriminator_optimizer is only "
                             "for factor_vae.")

    def train_step(self, data):
        x = tf.cast(_first(data), tf.float32)
        self._check_images(x)
        if not self.uses_discriminator:
            with tf.GradientTape() as tape:
                terms, _ = self.loss_terms(x, training=True)
                # Loss scaling is the identity unless the optimizer is a LossScaleOptimizer
                # (mixed_float16), which unscales the gradients in apply_gradients.
                loss = self.optimizer.scale_loss(terms["loss"])
            grads = tape.gradient(loss, self.vae_variables)
            self.optimizer.apply_gradients(zip(grads, self.vae_variables, strict=True))
            return _keras_reducible(self._update_trackers(terms))

        batch = x.shape[0]
        if batch is not None and batch % 2:
            raise ValueError(f"factor_vae splits each batch in two halves; got a batch of {batch} "
                             "images, use an even batch size (drop_remainder=True).")
        ctx = _replica_context()
        x1, x2 = tf.split(x, 2, axis=0)
        with tf.GradientTape() as tape:
            terms, z1 = self.loss_terms(x1, training=True)
            loss = self.optimizer.scale_loss(terms["loss"])
        grads = tape.gradient(loss, self.vae_variables)
        self.optimizer.apply_gradients(zip(grads, self.vae_variables, strict=True))

        # The discriminator phase starts after the VAE update (z2 comes from the updated encoder).
        # The explicit dependency also keeps the cross-replica collectives of the two phases in one
        # order on every replica: without it MirroredStrategy can run the two optimizers'
        # all-reduces in different orders on different devices and fail with "Shape mismatch in
        # the collective instance" (seen with TF 2.21 on 2 logical CPUs).
        with tf.control_dependencies([tf.identity(self.optimizer.iterations)]):
            x2 = tf.identity(x2)
        mean2, log_var2 = self.encode_params(x2, training=True)
        z2 = self._sample_z(mean2, log_var2, self._next_seed(), ctx)
        d_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as d_tape:
            d_loss, d_acc = self._discriminator_terms(z1, z2, ctx)
            d_scaled = self.discriminator_optimizer.scale_loss(d_loss)
        d_grads = d_tape.gradient(d_scaled, d_vars)
        self.discriminator_optimizer.apply_gradients(zip(d_grads, d_vars, strict=True))
        terms = {**terms, "discriminator_loss": d_loss, "discriminator_accuracy": d_acc}
        return _keras_reducible(self._update_trackers(terms))

    def test_step(self, data):
        x = tf.cast(_first(data), tf.float32)
        self._check_images(x)
        terms, z = self.loss_terms(x, training=False)
        if self.uses_discriminator:
            d_loss, d_acc = self._discriminator_terms(z, z, _replica_context())
            terms = {**terms, "discriminator_loss": d_loss, "discriminator_accuracy": d_acc}
        return _keras_reducible(self._update_trackers(terms))

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
        config = {"optimizer": keras.optimizers.serialize(self.optimizer)}
        if self.discriminator_optimizer is not None:
            config["discriminator_optimizer"] = keras.optimizers.serialize(
                self.discriminator_optimizer)
        return config

    def compile_from_config(self, config):
        optimizer = keras.optimizers.deserialize(config["optimizer"])
        d_config = config.get("discriminator_optimizer")
        d_optimizer = keras.optimizers.deserialize(d_config) if d_config else None
        self.compile(optimizer=optimizer, discriminator_optimizer=d_optimizer)


def _method_class(method_name, class_name, doc):
    def __init__(self, latent_dim=10, **kwargs):
        given = kwargs.pop("method", method_name)
        if given != method_name:
            raise ValueError(f"{class_name} is the {method_name!r} method, got method={given!r}; "
                             f"use DisentanglingVAE(method={given!r}) or make_model({given!r}).")
        DisentanglingVAE.__init__(self, method=method_name, latent_dim=latent_dim, **kwargs)

    cls = type(class_name, (DisentanglingVAE,), {"__init__": __init__, "__doc__": doc,
                                                 "__module__": __name__})
    return keras.saving.register_keras_serializable(package="tfdisvae")(cls)


VAE = _method_class("vae", "VAE", "VAE (Kingma & Welling 2014): reconstruction + KL.")
BetaVAEH = _method_class("beta_vae_h", "BetaVAEH",
                         "beta-VAE (Higgins et al. 2017): reconstruction + beta·KL (beta=4).")
BetaVAEB = _method_class("beta_vae_b", "BetaVAEB",
                         "beta-VAE with capacity (Burgess et al. 2018): reconstruction + "
                         "capacity_weight·|KL − C(step)|.")
FactorVAE = _method_class("factor_vae", "FactorVAE",
                          "FactorVAE (Kim & Mnih 2018): reconstruction + KL + tc_weight·TC, TC from a "
                          "discriminator trained on permuted codes.")
BetaTCVAE = _method_class("beta_tcvae", "BetaTCVAE",
                          "beta-TCVAE (Chen et al. 2018): reconstruction + alpha·MI + beta·TC + "
                          "gamma·dimension-wise KL (MSS/MWS estimators; needs dataset_size).")
DIPVAEI = _method_class("dip_vae_i", "DIPVAEI",
                        "DIP-VAE-I (Kumar et al. 2018): reconstruction + KL + DIP(Cov of the means).")
DIPVAEII = _method_class("dip_vae_ii", "DIPVAEII",
                         "DIP-VAE-II (Kumar et al. 2018): reconstruction + KL + DIP(Cov of z).")


def make_model(config_or_method, **kwargs):
    """A DisentanglingVAE from a TrainConfig (resolved or not) or a method name plus keyword arguments.

    From a config: method, latent_dim, image_shape (default (64, 64, 1)), arch, likelihood,
    dataset_size, seed and the method's hyper-parameters; kwargs override them.
    """
    from tfdisvae.config import TrainConfig

    if isinstance(config_or_method, TrainConfig):
        c = config_or_method
        values = {"method": c.model, "latent_dim": c.latent_dim,
                  "image_shape": tuple(c.image_shape or (64, 64, 1)), "arch": c.arch,
                  "likelihood": c.likelihood, "dataset_size": c.dataset_size, "seed": c.seed,
                  **c.method_hparams()}
        if c.model == "beta_tcvae" and values["dataset_size"] is None:
            values["dataset_size"] = c.train_subset
        values.update(kwargs)
        return DisentanglingVAE(**values)
    if isinstance(config_or_method, str):
        return DisentanglingVAE(method=config_or_method, **kwargs)
    raise TypeError(f"make_model takes a TrainConfig or a method name ({', '.join(METHODS)}), got "
                    f"{type(config_or_method).__name__}.")
