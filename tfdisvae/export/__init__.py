"""SavedModel export in TensorFlow Serving's layout (the library side of `export.py`).

One export writes two SavedModels, each a model TF Serving can load on its own:

    EXPORT_BASE/<model_name>_encoder/<version>/     images  -> posterior parameters, representation, samples
    EXPORT_BASE/<model_name>_decoder/<version>/     latents -> image likelihood parameters; images -> reconstruction

Their signatures are the table `signatures.signature_table` (listed in serving/README.md): encoder
serving_default (mean, log_var), representation (mean), sample (z, a new eps per request) and
sample_seeded (z from stateless_normal(seed): the same on every server; `seed` has no batch axis, so
call it with the columnar `inputs` JSON); decoder serving_default (bernoulli: logits, probabilities;
gaussian / laplace: mean_image) and reconstruct (the mean image decoded from the posterior mean; the
decoder SavedModel carries the encoder for it). Every signature checks its input (rank, trailing shape,
images in [0, 1], finite latents), so TF Serving itself answers a bad request with INVALID_ARGUMENT and
a message naming the expected input. Only stock TF ops are exported: loading needs neither TFP nor
tfdisvae.

Versions only grow (max of both models + 1; an explicit one must be larger). Each SavedModel is written
to `<model_dir>/.tmp-<version>-<pid>/` (TF Serving ignores names that are not integers) and renamed
into place; exports into one base are serialised with a lock file. The two of one version are published
as a pair: once both are complete, a journal `EXPORT_BASE/.<model_name>.publishing-<version>.json`
naming the two renames is written (atomically), both renames run and the journal is removed. An export
killed before the journal leaves only `.tmp-*` folders (removed by the next export); one killed after it
is completed by the next export before anything else. The stages are `EXPORT_STAGES`;
`TFDISVAE_EXPORT_KILL_AT=<stage>` makes the process SIGKILL itself there (tests/export/test_export_pair.py).

Each version also holds `assets.extra/tf_serving_warmup_requests` (a TFRecord of `PredictionLog`s, one
request per signature, replayed by the server when it loads the version) and `assets.extra/tfdisvae.json`
(shapes, signatures, likelihood, source run and checkpoint).
"""

from tfdisvae.export.export import *  # noqa: F403
from tfdisvae.export.signatures import *  # noqa: F403
from tfdisvae.export.versions import *  # noqa: F403
