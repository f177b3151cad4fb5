"""Adam with one fused kernel per variable: `keras.optimizers.Adam`'s update, fewer graph ops.

    from tfdisvae.optimizers import Adam
    model.compile(optimizer=Adam(1e-4, beta_1=0.9, beta_2=0.999))   # what train.py builds

Keras 3's Adam writes its update of each variable as about twenty small ops (casts, two powers of the
betas, the two moment updates, the step). The Burgess networks have 28 variables, so a training step
runs some 560 optimizer ops, each a scheduling cost on the CPU. This subclass computes the shared
scalars (learning rate, beta_1^t, beta_2^t) once per `apply` and updates each dense variable with
TensorFlow's `ResourceApplyAdam` kernel, which does the same arithmetic in one pass over the tensor:

    m <- m + (g - m)(1 - beta_1)        v <- v + (g^2 - v)(1 - beta_2)
    w <- w - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

The kernel computes 1 - beta in float32 (1 - 0.999 = 0.00099998713, where Keras rounds 0.001 from
double), so the second moment differs from Keras' by 1.3e-5 relative; otherwise the arithmetic is
the same. tests/test_optimizers.py checks the trajectory against `keras.optimizers.Adam` step
by step, compiled and under XLA, and that checkpoints interchange. Anything
the kernel does not cover takes Keras' own update: amsgrad, sparse (IndexedSlices) gradients, a backend
other than TensorFlow. Weight decay, clipping, EMA, loss scaling and gradient accumulation are Keras'
code around `update_step` and behave as in the parent class. The variables (names, slots) are the
parent's, so checkpoints written with either class restore into the other.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfdisvae")
class Adam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose dense updates run as one `ResourceApplyAdam` kernel each."""

    def apply(self, grads, trainable_variables=None):
        # The shared scalars belong to one apply (one value of self.iterations): reset around it.
        self._shared_scalars = {}
        try:
            return super().apply(grads, trainable_variables)
        finally:
            self._shared_scalars = {}

    def _scalars(self, dtype, learning_rate):
        """(lr, beta_1^t, beta_2^t) in `dtype`, built once per apply and dtype."""
        cache = getattr(self, "_shared_scalars", None)
        if cache is None:  # update_step called outside apply (e.g. by a subclass): no sharing
            cache = {}
        if dtype not in cache:
            step = tf.cast(self.iterations + 1, dtype)
            cache[dtype] = (tf.cast(learning_rate, dtype),
                            tf.pow(tf.cast(self.beta_1, dtype), step),
                            tf.pow(tf.cast(self.beta_2, dtype), step))
        return cache[dtype]

    def update_step(self, gradient, variable, learning_rate):
        if (self.amsgrad or isinstance(gradient, tf.IndexedSlices)
                or keras.backend.backend() != "tensorflow" or not hasattr(variable, "handle")):
            return super().update_step(gradient, variable, learning_rate)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        dtype = variable.dtype
        lr, beta_1_power, beta_2_power = self._scalars(dtype, learning_rate)
        return tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=_handle(m), v=_handle(v),
            beta1_power=beta_1_power, beta2_power=beta_2_power, lr=lr,
            beta1=tf.cast(self.beta_1, dtype), beta2=tf.cast(self.beta_2, dtype),
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
            use_locking=False)


def _handle(variable):
    """The resource handle of a Keras variable (or of its tf.Variable, or of a replica's copy)."""
    if isinstance(variable, keras.Variable):
        variable = variable.value
    return variable.handle
