"""FactorVAE (Kim & Mnih 2018): a DisentanglingVAE whose TC comes from a discriminator D, trained in
turn.

train_step (their Algorithm 2) splits an even batch in halves x1, x2: the VAE loss on x1, with the TC
from D(z1), updates the encoder and decoder only; then D learns, with its own optimizer, to tell
stop_gradient(z1) from permute_dims(stop_gradient(z2)), so the encoder never gets gradients of the
discriminator loss. Both optimizers are model attributes (checkpoints and .keras files carry both).
"""

import keras
import tensorflow as tf

from tfdisvae import optimizers
from tfdisvae.distribute import global_batch, keras_reducible, local_rows, replica_context
from tfdisvae.models import DisentanglingVAE
from tfdisvae.objectives import factor
from tfdisvae.objectives.methods import DISCRIMINATOR_ADAM


class FactorVAE(DisentanglingVAE, method="factor_vae"):
    """FactorVAE: reconstruction + KL + tc_weight·TC, the TC from a discriminator trained on permuted
    codes (the module docstring). Arguments: those of DisentanglingVAE."""

    EXTRA_TERMS = ("discriminator_loss", "discriminator_accuracy")
    OPTIMIZERS = ("optimizer", "discriminator_optimizer")

    def compile(self, optimizer=None, discriminator_optimizer=None, **kwargs):
        """DisentanglingVAE.compile, and the discriminator's optimizer (default: Adam with
        objectives.methods.DISCRIMINATOR_ADAM; loss-scaled under mixed_float16)."""
        super().compile(optimizer=optimizer, **kwargs)
        if discriminator_optimizer is None:
            discriminator_optimizer = optimizers.Adam(**DISCRIMINATOR_ADAM)
        self.discriminator_optimizer = keras.optimizers.get(discriminator_optimizer)
        if (self.dtype_policy.name == "mixed_float16" and not isinstance(
                self.discriminator_optimizer, keras.optimizers.LossScaleOptimizer)):
            # As Keras does for the main optimizer: float16 gradients need loss scaling.
            self.discriminator_optimizer = keras.optimizers.LossScaleOptimizer(
                self.discriminator_optimizer)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)

    def _discriminator_terms(self, z_real, z_other, ctx=None):
        """Discriminator loss/accuracy on stop_gradient(z_real) vs permute_dims(stop_gradient(z_other)).

        Under a strategy the permutation runs over the global batch of z_other (the same seed on every
        replica) and the loss over the global batch of logits, as on one device.
        """
        rows = tf.shape(z_other)[0]
        z_other = global_batch(ctx, tf.stop_gradient(z_other))
        z_perm = local_rows(ctx, factor.permute_dims(z_other, self._next_seed()), rows)
        real_logits = self.discriminator(tf.stop_gradient(z_real), training=True)
        perm_logits = self.discriminator(z_perm, training=True)
        if ctx is not None:
            packed = global_batch(ctx, tf.concat([real_logits, perm_logits], axis=1))
            real_logits, perm_logits = packed[:, :2], packed[:, 2:]
        return (factor.discriminator_loss(real_logits, perm_logits),
                factor.discriminator_accuracy(real_logits, perm_logits))

    def train_step(self, data):
        x = self._images(data)
        batch = x.shape[0]
        if batch is not None and batch % 2:
            raise ValueError(f"factor_vae splits each batch in two halves; got a batch of {batch} "
                             "images, use an even batch size (drop_remainder=True).")
        ctx = replica_context()
        x1, x2 = tf.split(x, 2, axis=0)
        terms, z1 = self._vae_update(x1)

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
        return keras_reducible(self._update_trackers(terms))

    def test_step(self, data):
        terms, z = self.loss_terms(self._images(data), training=False)
        d_loss, d_acc = self._discriminator_terms(z, z, replica_context())
        terms = {**terms, "discriminator_loss": d_loss, "discriminator_accuracy": d_acc}
        return keras_reducible(self._update_trackers(terms))
