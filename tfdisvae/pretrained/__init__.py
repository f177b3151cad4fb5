"""Pretrained models: the model zoo shipped in the package, and importers of other code's weights.

    import tfdisvae.pretrained as pretrained

    pretrained.list()                                    # the zoo's models
    model = pretrained.load("poster-factor_vae-dsprites")    # offline, checksummed, safe_mode .keras
    model = pretrained.from_disentangling_vae("results/factor_dsprites/model.pt")  # the poster's code
    pretrained.publish("runs/factor_vae-dsprites-seed0", "factor_vae-dsprites")     # add to the zoo

Commands that take a run directory accept ``pretrained:<name>`` (tfdisvae.pretrained.zoo).
`read_torch_checkpoint` reads PyTorch checkpoints without torch and without running pickled code.
Importing this package does not import TensorFlow; the functions that build models do.

Command line: python -m tfdisvae.pretrained [--refresh_metrics] [--publish RUN --name NAME]
[--import_disentangling_vae DIR]; see tfdisvae/cli/pretrained.py.
"""

from tfdisvae.pretrained.disentangling_vae import PretrainedImportError, from_disentangling_vae
from tfdisvae.pretrained.torch_checkpoint import (
    CheckpointFormatError,
    UnsafeCheckpointError,
    read_torch_checkpoint,
)
from tfdisvae.pretrained.zoo import (
    PREFIX,
    ChecksumError,
    ZooError,
    info,
    load,
    materialize,
    publish,
    refresh_metrics,
    resolve_run_dir,
    versions,
)
from tfdisvae.pretrained.zoo import list_models as list  # noqa: A001  (pretrained.list())

__all__ = ["PREFIX", "CheckpointFormatError", "ChecksumError", "PretrainedImportError",
           "UnsafeCheckpointError", "ZooError", "from_disentangling_vae", "info", "list", "load",
           "materialize", "publish", "read_torch_checkpoint", "refresh_metrics", "resolve_run_dir",
           "versions"]
