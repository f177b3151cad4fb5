"""Session-wide test settings: quiet TensorFlow, Keras on TensorFlow, Agg plots."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("MPLBACKEND", "Agg")

_TF_LOG_LINE = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl::InitializeLog)")


def _own_stderr_lines(stderr):
    """The lines of a command's stderr that are not TensorFlow's or absl's log records ("I0000 ...",
    "W1201 ...", "WARNING: All log messages before absl::InitializeLog() ...")."""
    return [line for line in stderr.splitlines() if line.strip() and not _TF_LOG_LINE.match(line)]


@pytest.fixture
def own_stderr_lines():
    """A function: a subprocess's stderr -> its lines that are not TF/absl log records."""
    return _own_stderr_lines


def _binary_images(n, shape=(32, 32, 1), seed=0, threshold=0.5):
    """float32 images [n, *shape] of 0s and 1s (uniform > threshold): a seeded stand-in for dSprites."""
    return (np.random.default_rng(seed).uniform(size=(n, *shape)) > threshold).astype(np.float32)


@pytest.fixture(scope="session")
def binary_images():
    """A function: (n, shape=(32, 32, 1), seed=0, threshold=0.5) -> seeded binary images."""
    return _binary_images


@pytest.fixture(scope="session")
def train_tiny(tmp_path_factory):
    """A function: train a real run of a few steps on `images` (ArrayData) with TrainConfig settings
    (quick preset, summaries every step, no images, silent); returns its run directory as a Path."""

    def train_tiny(images, name="tiny-run", **settings):
        from tfdisvae.config import TrainConfig
        from tfdisvae.training import ArrayData, train

        root = tmp_path_factory.mktemp(name)
        config = TrainConfig.create(**{"preset": "quick", "summary_every": 1, "image_every": 0,
                                       "verbose": 0, "run_dir": str(root / name),
                                       "logdir": str(root), **settings})
        return Path(train(config, data=ArrayData(images, name="random"), log=lambda *_: None))

    return train_tiny
