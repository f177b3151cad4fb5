"""SavedModel export in TensorFlow Serving's layout (the library side of `export.py`; serving/README.md).

    EXPORT_BASE/<model_name>_encoder/<version>/     images  -> posterior parameters, representation, samples
    EXPORT_BASE/<model_name>_decoder/<version>/     latents -> image likelihood parameters; images -> reconstruction

signatures.py: the signatures (one table: the tf.functions, with input checks that TF Serving answers
as INVALID_ARGUMENT; their description in assets.extra/tfdisvae.json; one warm-up request each in
assets.extra/tf_serving_warmup_requests). Only stock TF ops are exported: loading needs neither TFP nor
tfdisvae. versions.py: versions only grow; each SavedModel is written to `.tmp-<version>-<pid>/` and
renamed into place under a lock, and the two of a version are published as a pair through a journal
(EXPORT_BASE/.<model_name>.publishing-<version>.json) that the next export completes if this one dies;
`TFDISVAE_EXPORT_KILL_AT=<stage>` (EXPORT_STAGES) SIGKILLs an export there. export.py: the writing.
"""

from tfdisvae.export.export import *  # noqa: F403
from tfdisvae.export.signatures import *  # noqa: F403
from tfdisvae.export.versions import *  # noqa: F403
