"""Session-wide test settings: quiet TensorFlow, Keras on TensorFlow, Agg plots."""

import os
import re

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
