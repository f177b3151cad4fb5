"""Session-wide test settings: quiet TensorFlow, Keras on TensorFlow, never a download."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# tfds must never reach for the network here: an attempted download blocks for minutes on retries.
os.environ.setdefault("TFDS_DISABLE_DOWNLOAD", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
