"""Mixed precision: which Keras dtype policy to train with, and checks that it is safe here.

    from tfdisvae import precision
    name = precision.resolve_policy("auto")     # "mixed_float16" on a GPU, "mixed_bfloat16" on a CPU with
                                                # AVX-512 BF16 / AMX-BF16, else "float32"
    precision.set_policy(name)                  # before the model is built
    with precision.policy_scope("mixed_bfloat16"):
        model = tfdisvae.make_model("vae")      # layers built here compute in bfloat16

What a policy changes in tfdisvae: hidden layers compute in the policy's compute dtype (bfloat16 or
float16) while their variables stay float32. The networks' output layers (encoder mean/log-variance,
decoder logits, discriminator logits) are float32 (tfdisvae.networks), and every loss term is computed in
float32 (tfdisvae.objectives casts its inputs), so the loss, the KL decomposition and the log-sum-exps of
the MWS/MSS estimators never run in 16 bits.

float16 has a narrow exponent range and needs loss scaling (Keras wraps the optimizer in a
LossScaleOptimizer when the model's policy is mixed_float16; the train step must then scale the loss,
as DisentanglingVAE.train_step does). bfloat16 has float32's exponent range and needs none.

On these CPUs (Intel Xeon with AVX-512 BF16 and AMX-BF16) oneDNN runs bfloat16 convolutions and matmuls
natively; on a CPU without those instructions bfloat16 is emulated and slower than float32, so "auto"
keeps float32 there. Measured figures: docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
import functools

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
CHOICES = ("auto", "none", *POLICIES)


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset:
    """The CPU feature flags of /proc/cpuinfo (empty where it cannot be read, e.g. not on Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_native_bfloat16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX-512 BF16 or AMX-BF16)."""
    flags = cpu_flags()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _has_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def resolve_policy(choice: str | None = "auto") -> str:
    """The Keras policy name for a `--mixed_precision` value.

    Args:
      choice: None or "none" (float32), "auto", "float32", "mixed_bfloat16" or "mixed_float16".
    Returns:
      one of POLICIES. "auto" gives "mixed_float16" on a GPU, "mixed_bfloat16" on a CPU with native
      bfloat16 (AVX-512 BF16 or AMX-BF16), "float32" otherwise.
    Raises:
      ValueError: an unknown choice, or mixed_float16 without a GPU (float16 on a CPU is emulated, many
        times slower than float32; use mixed_bfloat16).
    """
    if choice is None:
        return "float32"
    name = str(choice).lower()
    if name not in CHOICES:
        raise ValueError(f"Unknown mixed-precision setting {choice!r}; choose one of "
                         f"{', '.join(CHOICES)}.")
    if name == "none":
        return "float32"
    if name == "auto":
        if _has_gpu():
            return "mixed_float16"
        return "mixed_bfloat16" if cpu_has_native_bfloat16() else "float32"
    if name == "mixed_float16" and not _has_gpu():
        raise ValueError("mixed_float16 needs a GPU (float16 on a CPU is emulated and slow); use "
                         "mixed_bfloat16 on a CPU, or 'auto'.")
    return name


def set_policy(choice: str | None) -> str:
    """Resolve `choice` (see resolve_policy) and make it Keras's global dtype policy; returns its name.

    Call it before building the model: layers take the policy that is global when they are created.
    """
    import keras

    name = resolve_policy(choice)
    keras.mixed_precision.set_dtype_policy(name)
    return name


@contextlib.contextmanager
def policy_scope(choice: str | None):
    """Within the block, Keras's global policy is resolve_policy(choice); the previous one after it."""
    import keras

    previous = keras.mixed_precision.dtype_policy()
    name = set_policy(choice)
    try:
        yield name
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def compute_dtype(model) -> str:
    """The dtype the hidden layers of a built model compute in ("float32", "bfloat16", "float16")."""
    dtypes = {layer.compute_dtype for layer in _all_layers(model)
              if getattr(layer, "weights", None)}
    low = sorted(dtypes - {"float32"})
    return low[0] if low else "float32"


def _all_layers(model):
    seen = []
    stack = [model]
    while stack:
        layer = stack.pop()
        seen.append(layer)
        stack.extend(getattr(layer, "_layers", []) or [])
    return seen
