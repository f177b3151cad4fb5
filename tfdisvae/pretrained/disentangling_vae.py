"""Import the models of YannDubs/disentangling-vae (the poster's code) into tfdisvae.

    model = from_disentangling_vae("results/factor_dsprites/model.pt")   # specs.json read beside it

The reference's ``Burgess`` encoder and decoder (disvae/models/encoders.py, decoders.py) are tfdisvae's
``burgess`` networks layer for layer; only the weight layouts differ (PyTorch is NCHW, Keras NHWC):

| reference (state_dict key)          | tfdisvae layer                | mapping                              |
|-------------------------------------|-------------------------------|--------------------------------------|
| encoder.conv1, conv2, conv3         | encoder conv0, conv1, conv2   | Conv2d [o, i, kh, kw] → [kh, kw, i, o] |
| encoder.conv_64 (64×64 only)        | encoder conv3                 | same                                 |
| encoder.lin1                        | encoder dense0                | W.T, its 512 inputs permuted from    |
|                                     |                               | (c, h, w) to Keras' (h, w, c) order  |
| encoder.lin2                        | encoder dense1                | W.T                                  |
| encoder.mu_logvar_gen               | encoder mean_log_var          | W.T; outputs interleaved (mu_0,      |
|                                     |                               | logvar_0, mu_1, ...) → [mean, log_var]: |
|                                     |                               | columns 0::2 then 1::2               |
| decoder.lin1, lin2                  | decoder dense0, dense1        | W.T                                  |
| decoder.lin3                        | decoder dense2                | W.T, its 512 outputs permuted from   |
|                                     |                               | (c, h, w) to (h, w, c) (bias too)    |
| decoder.convT_64 (64×64 only),      | decoder deconv0, (deconv1,    | ConvTranspose2d [i, o, kh, kw] →     |
| convT1, convT2                      | deconv2)                      | [kh, kw, o, i], not flipped          |
| decoder.convT3                      | decoder params                | same; its output (before the         |
|                                     |                               | reference's sigmoid) is the logits   |

Both use 4×4 kernels with stride 2: PyTorch's padding=1 is Keras' "same" for even sides, and
ConvTranspose2d(k=4, s=2, p=1) is Keras' Conv2DTranspose "same" (both cross-correlate, so no kernel
flip). The reference's reconstruction loss is the Bernoulli's (BCE of the sigmoid), so a Bernoulli
model maps exactly; its Gaussian/Laplace models put a sigmoid on the mean, which tfdisvae's linear
decoder output cannot express, and are refused.

specs.json (the reference's run settings) gives the method and its hyper-parameters:
VAE → vae, betaH → beta_vae_h (beta = betaH_B), betaB → beta_vae_b (C from betaB_initC to betaB_finC
over reg_anneal steps, weight betaB_G), factor → factor_vae (tc_weight = factor_G; discriminator lr
lr_disc; the discriminator is not in model.pt, so it starts fresh), btcvae → beta_tcvae (alpha, beta,
gamma = btcvae_A, B, G; MSS). The reference anneals FactorVAE's TC and β-TCVAE's dimension-wise KL
only, tfdisvae its whole regulariser: this matters only to further training, not to the weights.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from tfdisvae.pretrained.torch_checkpoint import read_torch_checkpoint

REFERENCE = "YannDubs/disentangling-vae"
# specs["loss"] -> tfdisvae method
METHOD_OF_LOSS = {"VAE": "vae", "betaH": "beta_vae_h", "betaB": "beta_vae_b", "factor": "factor_vae",
                  "btcvae": "beta_tcvae"}
# specs["dataset"] -> (tfdisvae data set name, number of training images the reference uses)
DATASETS = {"dsprites": ("dsprites", 737_280), "mnist": ("mnist", 60_000),
            "fashion": ("fashion_mnist", 60_000), "celeba": ("celeb_a", 202_599),
            "chairs": ("chairs", 86_366)}
_ENCODER_CONVS = ("conv1", "conv2", "conv3", "conv_64")
_DECODER_DECONVS_64 = ("convT_64", "convT1", "convT2")
_DECODER_DECONVS_32 = ("convT1", "convT2")


class PretrainedImportError(ValueError):
    """The checkpoint or specs do not describe a model tfdisvae can import exactly."""


def _get(state, key, shape=None):
    if key not in state:
        raise PretrainedImportError(f"the checkpoint has no {key!r}: it is not a {REFERENCE} Burgess model "
                           f"(keys: {', '.join(list(state)[:8])}, ...)")
    value = np.asarray(state[key], np.float32)
    if shape is not None and value.shape != tuple(shape):
        raise PretrainedImportError(f"{key} has shape {value.shape}, expected {tuple(shape)}")
    return value


def conv_kernel(weight):
    """Conv2d weight [out, in, kh, kw] -> Keras Conv2D kernel [kh, kw, in, out]."""
    return np.ascontiguousarray(np.transpose(weight, (2, 3, 1, 0)))


def deconv_kernel(weight):
    """ConvTranspose2d weight [in, out, kh, kw] -> Keras Conv2DTranspose kernel [kh, kw, out, in]."""
    return np.ascontiguousarray(np.transpose(weight, (2, 3, 1, 0)))


def dense_kernel(weight):
    """Linear weight [out, in] -> Keras Dense kernel [in, out]."""
    return np.ascontiguousarray(weight.T)


def chw_to_hwc(index_axis_values, channels, height, width, axis):
    """Reorder an axis of length C·H·W from PyTorch's (c, h, w) flattening to Keras' (h, w, c)."""
    x = np.moveaxis(index_axis_values, axis, 0)
    rest = x.shape[1:]
    x = x.reshape(channels, height, width, *rest).transpose(1, 2, 0, *range(3, 3 + len(rest)))
    return np.ascontiguousarray(np.moveaxis(x.reshape(channels * height * width, *rest), 0, axis))


def infer_shapes(state):
    """(image_shape (H, W, C), latent_dim) of a reference Burgess state_dict."""
    conv1 = _get(state, "encoder.conv1.weight")
    channels = conv1.shape[1]
    side = 64 if "encoder.conv_64.weight" in state else 32
    out = _get(state, "encoder.mu_logvar_gen.weight")
    if out.shape[0] % 2:
        raise PretrainedImportError(f"encoder.mu_logvar_gen has {out.shape[0]} outputs, not 2·latent_dim")
    return (side, side, channels), out.shape[0] // 2


def map_weights(state, image_shape, latent_dim):
    """{"encoder": {layer: [kernel, bias]}, "decoder": {...}}: the reference's weights as tfdisvae's.

    state: the reference's state_dict (name -> array). See the module docstring for the mapping.
    """
    height, width, channels = image_shape
    d, hid, k = int(latent_dim), 32, 4
    encoder, decoder = {}, {}
    convs = _ENCODER_CONVS if height == 64 else _ENCODER_CONVS[:3]
    in_ch = channels
    for i, name in enumerate(convs):
        w = _get(state, f"encoder.{name}.weight", (hid, in_ch, k, k))
        encoder[f"conv{i}"] = [conv_kernel(w), _get(state, f"encoder.{name}.bias", (hid,))]
        in_ch = hid
    lin1 = _get(state, "encoder.lin1.weight", (256, hid * 4 * 4))
    encoder["dense0"] = [chw_to_hwc(dense_kernel(lin1), hid, 4, 4, axis=0),
                         _get(state, "encoder.lin1.bias", (256,))]
    encoder["dense1"] = [dense_kernel(_get(state, "encoder.lin2.weight", (256, 256))),
                         _get(state, "encoder.lin2.bias", (256,))]
    w = dense_kernel(_get(state, "encoder.mu_logvar_gen.weight", (2 * d, 256)))
    b = _get(state, "encoder.mu_logvar_gen.bias", (2 * d,))
    encoder["mean_log_var"] = [np.concatenate([w[:, 0::2], w[:, 1::2]], axis=1),
                               np.concatenate([b[0::2], b[1::2]])]

    decoder["dense0"] = [dense_kernel(_get(state, "decoder.lin1.weight", (256, d))),
                         _get(state, "decoder.lin1.bias", (256,))]
    decoder["dense1"] = [dense_kernel(_get(state, "decoder.lin2.weight", (256, 256))),
                         _get(state, "decoder.lin2.bias", (256,))]
    lin3 = dense_kernel(_get(state, "decoder.lin3.weight", (hid * 4 * 4, 256)))
    decoder["dense2"] = [chw_to_hwc(lin3, hid, 4, 4, axis=1),
                         chw_to_hwc(_get(state, "decoder.lin3.bias", (hid * 16,)), hid, 4, 4, axis=0)]
    deconvs = _DECODER_DECONVS_64 if height == 64 else _DECODER_DECONVS_32
    for i, name in enumerate(deconvs):
        w = _get(state, f"decoder.{name}.weight", (hid, hid, k, k))
        decoder[f"deconv{i}"] = [deconv_kernel(w), _get(state, f"decoder.{name}.bias", (hid,))]
    w = _get(state, "decoder.convT3.weight", (hid, channels, k, k))
    decoder["params"] = [deconv_kernel(w), _get(state, "decoder.convT3.bias", (channels,))]
    return {"encoder": encoder, "decoder": decoder}


def read_specs(specs, model_path=None):
    """specs as a dict: the given dict, a path to a specs.json, or (None) the specs.json beside
    model_path when there is one (else {})."""
    if isinstance(specs, dict):
        return dict(specs)
    if specs is None:
        if model_path is None:
            return {}
        candidate = os.path.join(os.path.dirname(os.fspath(model_path)), "specs.json")
        if not os.path.isfile(candidate):
            return {}
        specs = candidate
    with open(os.fspath(specs), encoding="utf-8") as f:
        return json.load(f)


def model_kwargs_from_specs(specs, image_shape, latent_dim):
    """DisentanglingVAE keyword arguments for a reference run's specs (checked against the weights)."""
    if "img_size" in specs:
        c, h, w = (int(v) for v in specs["img_size"])
        if (h, w, c) != tuple(image_shape):
            raise PretrainedImportError(f"specs.json says img_size {specs['img_size']} but the weights are for "
                               f"images of {tuple(image_shape)} (H, W, C)")
    if "latent_dim" in specs and int(specs["latent_dim"]) != latent_dim:
        raise PretrainedImportError(f"specs.json says latent_dim {specs['latent_dim']} but the weights have "
                           f"{latent_dim}")
    model_type = str(specs.get("model_type", "Burgess"))
    if model_type.lower() != "burgess":
        raise PretrainedImportError(f"model_type {model_type!r}: only the reference's Burgess networks map "
                           "onto tfdisvae's")
    rec_dist = specs.get("rec_dist", "bernoulli")
    if rec_dist != "bernoulli":
        raise PretrainedImportError(f"rec_dist {rec_dist!r}: the reference's decoder puts a sigmoid on the "
                           "mean of its Gaussian/Laplace likelihood, which tfdisvae's linear decoder "
                           "output does not; only Bernoulli models import exactly")
    loss = specs.get("loss", "VAE")
    if loss not in METHOD_OF_LOSS:
        raise PretrainedImportError(f"loss {loss!r} is not one of the reference's {', '.join(METHOD_OF_LOSS)}")
    method = METHOD_OF_LOSS[loss]
    _, dataset_size = DATASETS.get(specs.get("dataset", "dsprites"), (None, None))
    anneal = int(specs.get("reg_anneal", 0))
    kwargs = {"method": method, "latent_dim": latent_dim, "image_shape": tuple(image_shape),
              "arch": "burgess", "likelihood": "bernoulli", "dataset_size": dataset_size,
              "seed": specs.get("seed")}
    if method == "vae":
        kwargs["reg_anneal_steps"] = anneal
    elif method == "beta_vae_h":
        kwargs.update(beta=float(specs.get("betaH_B", 4.0)), reg_anneal_steps=anneal)
    elif method == "beta_vae_b":
        kwargs.update(c_init=float(specs.get("betaB_initC", 0.0)),
                      c_final=float(specs.get("betaB_finC", 25.0)), c_steps=anneal,
                      capacity_weight=float(specs.get("betaB_G", 1000.0)))
    elif method == "factor_vae":
        kwargs.update(tc_weight=float(specs.get("factor_G", 6.4)), reg_anneal_steps=anneal)
    else:
        kwargs.update(alpha=float(specs.get("btcvae_A", 1.0)), beta=float(specs.get("btcvae_B", 6.0)),
                      gamma=float(specs.get("btcvae_G", 1.0)), estimator="mss",
                      reg_anneal_steps=anneal)
        if kwargs["dataset_size"] is None:
            raise PretrainedImportError(f"beta_tcvae needs the number of training images of data set "
                               f"{specs.get('dataset')!r}, which this importer does not know")
    if kwargs["dataset_size"] is None:
        kwargs.pop("dataset_size")
    return kwargs


def train_config_from_specs(specs, model_kwargs):
    """The resolved TrainConfig of the reference's run (the settings it trained with)."""
    from tfdisvae.config import TrainConfig

    dataset, size = DATASETS.get(specs.get("dataset", "dsprites"), (specs.get("dataset"), None))
    size = model_kwargs.get("dataset_size", size) or 737_280
    hparams = {k: v for k, v in model_kwargs.items()
               if k not in ("method", "latent_dim", "image_shape", "arch", "likelihood",
                            "dataset_size", "seed")}
    batch = int(specs.get("batch_size", 64))
    epochs = float(specs.get("epochs", 30))
    values = {"model": model_kwargs["method"], "preset": None, "dataset": dataset,
              "arch": "burgess", "latent_dim": model_kwargs["latent_dim"], "likelihood": "bernoulli",
              "batch_size": batch, "epochs": epochs,
              "steps": int(math.ceil(epochs * size / batch)),
              "lr": float(specs.get("lr", 5e-4)), "seed": int(specs.get("seed") or 0), **hparams}
    if model_kwargs["method"] == "factor_vae":
        values["discriminator_lr"] = float(specs.get("lr_disc", 1e-4))
    config = TrainConfig(**values)
    config.validate()
    return config.resolved(model_kwargs["image_shape"], size)


def set_network_weights(network, weights):
    """Assign {layer name: [kernel, bias]} to a tfdisvae encoder/decoder; every layer with weights
    must be given, with the shapes of the network's variables."""
    missing = [layer.name for layer in network.layers if layer.weights and layer.name not in weights]
    extra = sorted(set(weights) - {layer.name for layer in network.layers})
    if missing or extra:
        raise PretrainedImportError(f"{network.name}: weights for layers {extra} it does not have, none for "
                           f"{missing}")
    for layer in network.layers:
        if not layer.weights:
            continue
        values = weights[layer.name]
        for variable, value in zip(layer.weights, values, strict=True):
            if tuple(variable.shape) != tuple(value.shape):
                raise PretrainedImportError(f"{network.name}/{layer.name}: {variable.path} has shape "
                                   f"{tuple(variable.shape)}, the mapped weight {value.shape}")
        layer.set_weights(values)


def from_disentangling_vae(path, specs=None, return_config=False):
    """A tfdisvae DisentanglingVAE holding the weights of a YannDubs/disentangling-vae model.pt.

    Args:
      path: the reference's model.pt (a state_dict of its Burgess VAE, either torch.save format);
        read without torch and without running pickled code (tfdisvae.pretrained.torch_checkpoint).
      specs: the run's settings: a dict, a path to its specs.json, or None to read the specs.json
        next to `path` when there is one (otherwise a VAE with the shapes the weights show).
      return_config: also return the TrainConfig of the reference's run.
    Returns:
      the model (not compiled), or (model, TrainConfig) with return_config.
    """
    from tfdisvae.models import DisentanglingVAE

    state = read_torch_checkpoint(path)
    if not isinstance(state, dict):
        raise PretrainedImportError(f"{path} holds a {type(state).__name__}, not a state_dict")
    specs = read_specs(specs, path)
    image_shape, latent_dim = infer_shapes(state)
    kwargs = model_kwargs_from_specs(specs, image_shape, latent_dim)
    weights = map_weights(state, image_shape, latent_dim)
    model = DisentanglingVAE(**kwargs)
    set_network_weights(model.encoder, weights["encoder"])
    set_network_weights(model.decoder, weights["decoder"])
    if return_config:
        return model, train_config_from_specs(specs, kwargs)
    return model


POSTER_EXPERIMENTS = ("VAE_dsprites", "betaH_dsprites", "betaB_dsprites", "factor_dsprites",
                      "btcvae_dsprites")


def zoo_name(specs):
    """The zoo name of an imported reference model: poster-<method>-<data set>."""
    method = METHOD_OF_LOSS[specs.get("loss", "VAE")]
    dataset = DATASETS.get(specs.get("dataset", "dsprites"), (specs.get("dataset"),))[0]
    return f"poster-{method}-{dataset}"


def add_to_zoo(model_path, *, name=None, specs=None, commit=None, path_in_repository=None,
               license_text=None, zoo_dir=None, version=None):
    """Import a reference model.pt and write it as a zoo entry (tfdisvae.pretrained.zoo); returns
    the entry's folder. license_text: the reference's LICENSE, written with an attribution header."""
    import hashlib

    from tfdisvae.pretrained import zoo

    specs = read_specs(specs, model_path)
    model, config = from_disentangling_vae(model_path, specs, return_config=True)
    name = name or zoo_name(specs)
    with open(model_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    path_in_repository = path_in_repository or f"results/{specs.get('experiment', '?')}/model.pt"
    source = {"kind": f"imported from {REFERENCE}", "repository": REFERENCE, "commit": commit,
              "path": path_in_repository, "sha256": digest, "specs": specs,
              "mapping": "tfdisvae.pretrained.disentangling_vae (weights mapped, not retrained)",
              "license": "MIT (see LICENSE)"}
    description = (f"The poster's own {specs.get('loss')} model on {specs.get('dataset')} "
                   f"({REFERENCE} {path_in_repository}), imported into tfdisvae's burgess networks.")
    notice = None
    if license_text:
        notice = (f"The weights in this folder are those of {REFERENCE}, {path_in_repository}"
                  f"{f' at commit {commit}' if commit else ''}, mapped into tfdisvae's layout by "
                  "tfdisvae.pretrained.disentangling_vae. They are distributed under that "
                  "repository's licence, reproduced below.\n\n" + license_text)
    return zoo.write_entry(model, name, train_config=config, trained_steps=config.steps,
                           source=source, description=description, license_text=notice,
                           zoo_dir=zoo_dir, version=version)
