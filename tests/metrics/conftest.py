"""The metric tests import their synthetic ground truth (metrics_synthetic_truth.py) from this folder."""

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
