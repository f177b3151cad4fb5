"""Command-line entry points (absl). The top-level train.py and export.py are thin wrappers over these."""
