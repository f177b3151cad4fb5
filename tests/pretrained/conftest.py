"""The pretrained tests import their helpers (pretrained_torchfile.py, pretrained_torch_semantics.py)
from this folder."""

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
