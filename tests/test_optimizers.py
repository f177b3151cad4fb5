"""optimizers.Adam (one ResourceApplyAdam kernel per variable) against keras.optimizers.Adam.

The kernel computes 1 - beta in float32 (1 - 0.999 = 0.00099998713 against Keras' 0.001 rounded
from double), so the second moment differs by 1.3e-5 relative: the comparisons allow 5e-5.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdisvae import optimizers

RTOL = 5e-5
SHAPES = [(3, 4), (5,), (2, 2, 3, 1)]


def _variables(seed=0):
    rng = np.random.default_rng(seed)
    return [keras.Variable(rng.normal(size=s).astype(np.float32)) for s in SHAPES]


def _gradients(steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[tf.constant(rng.normal(size=s).astype(np.float32) * 10 ** rng.uniform(-3, 1))
             for s in SHAPES] for _ in range(steps)]


def _trajectory(optimizer, grads, compile_fn=None):
    variables = _variables()
    optimizer.build(variables)

    def apply(g):
        optimizer.apply(g, variables)

    if compile_fn is not None:
        apply = compile_fn(apply)
    out = []
    for g in grads:
        apply(g)
        out.append([v.numpy().copy() for v in variables] +
                   [v.numpy().copy() for v in optimizer.variables])
    return out


@pytest.mark.parametrize("kwargs", [{}, {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-4}],
                         ids=["defaults", "factor_vae_discriminator"])
def test_same_trajectory_as_keras_adam(kwargs):
    grads = _gradients(6)
    expected = _trajectory(keras.optimizers.Adam(1e-2, **kwargs), grads)
    got = _trajectory(optimizers.Adam(1e-2, **kwargs), grads)
    for step, (a, b) in enumerate(zip(expected, got, strict=True)):
        for x, y in zip(a, b, strict=True):  # the variables, then iterations and every m, v slot
            np.testing.assert_allclose(y, x, rtol=RTOL, atol=1e-7, err_msg=f"step {step + 1}")


def test_first_step_moves_each_weight_by_lr_times_the_sign_of_its_gradient():
    # Step 1 from m = v = 0: m = (1-b1) g, v = (1-b2) g^2, so the bias-corrected step is
    # lr * g / (|g| + eps / sqrt(1-b2)), about lr * sign(g) where |g| >> eps.
    variables, lr = _variables(), 1e-2
    before = [v.numpy().copy() for v in variables]
    grads = _gradients(1)[0]
    optimizer = optimizers.Adam(lr)
    optimizer.build(variables)
    optimizer.apply(grads, variables)
    for b, v, g in zip(before, variables, grads, strict=True):
        g = g.numpy()
        expected = b - lr * g / (np.abs(g) + 1e-7 / np.sqrt(1e-3))
        np.testing.assert_allclose(v.numpy(), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("jit", [False, True], ids=["graph", "xla"])
def test_same_trajectory_compiled(jit):
    grads = _gradients(4, seed=3)
    expected = _trajectory(keras.optimizers.Adam(1e-3), grads)
    got = _trajectory(optimizers.Adam(1e-3), grads,
                      compile_fn=lambda f: tf.function(f, jit_compile=jit))
    for a, b in zip(expected, got, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(y, x, rtol=RTOL, atol=1e-7)


def test_uses_the_fused_kernel():
    variables = _variables()
    optimizer = optimizers.Adam(1e-3)
    optimizer.build(variables)
    graph = tf.function(lambda g: optimizer.apply(g, variables)).get_concrete_function(
        _gradients(1)[0]).graph
    ops = [op.type for op in graph.get_operations()]
    assert ops.count("ResourceApplyAdam") == len(SHAPES)
    assert ops.count("Pow") == 2  # beta_1^t and beta_2^t once per apply, not once per variable


def test_amsgrad_and_learning_rate_schedules_keep_keras_behaviour():
    grads = _gradients(5, seed=4)
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=2, decay_rate=0.5)
    for kwargs in ({"amsgrad": True}, {"learning_rate": schedule}):
        kwargs = {"learning_rate": 1e-2, **kwargs}
        expected = _trajectory(keras.optimizers.Adam(**kwargs), grads)
        got = _trajectory(optimizers.Adam(**kwargs), grads)
        np.testing.assert_allclose(got[-1][0], expected[-1][0], rtol=RTOL, atol=1e-7)


def test_serialises_and_checkpoints_interchange_with_keras_adam(tmp_path):
    optimizer = optimizers.Adam(3e-4, beta_1=0.8)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is optimizers.Adam
    assert restored.get_config() == optimizer.get_config()
    # A checkpoint written with Keras' Adam restores into this one (same slots), and continues alike.
    grads = _gradients(4, seed=5)
    variables, keras_adam = _variables(), keras.optimizers.Adam(1e-2)
    keras_adam.build(variables)
    for g in grads[:2]:
        keras_adam.apply(g, variables)
    path = tf.train.Checkpoint(variables=variables, optimizer=keras_adam).write(str(tmp_path / "c"))
    fused_vars, fused = _variables(seed=9), optimizers.Adam(1e-2)
    fused.build(fused_vars)
    tf.train.Checkpoint(variables=fused_vars, optimizer=fused).read(path).assert_consumed()
    for g in grads[2:]:
        keras_adam.apply(g, variables)
        fused.apply(g, fused_vars)
    assert int(fused.iterations) == 4
    for a, b in zip(variables, fused_vars, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=RTOL, atol=1e-7)
