"""from_disentangling_vae: a synthetic Burgess state_dict, written as a checkpoint of either format,
gives tfdisvae outputs equal to the reference's forward pass computed independently in numpy with
PyTorch's semantics (pretrained_torch_semantics.py) — and each plausible mapping mistake is caught."""

import collections
import json
from unittest import mock

import numpy as np
import pretrained_torch_semantics as T
import pytest
from pretrained_torchfile import WRITERS, contiguous

from tfdisvae.pretrained import disentangling_vae as dv

RTOL, ATOL = 1e-4, 1e-4


def burgess_state(rng, image_shape=(64, 64, 1), latent_dim=3):
    """A reference state_dict (PyTorch layouts) with He-scaled random weights."""
    height, _, channels = image_shape

    def w(*shape):
        fan_in = np.prod(shape[1:]) if len(shape) == 4 else shape[1]
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    def b(n):
        return (0.1 * rng.standard_normal(n)).astype(np.float32)

    s = collections.OrderedDict()
    convs = ["conv1", "conv2", "conv3"] + (["conv_64"] if height == 64 else [])
    for i, name in enumerate(convs):
        s[f"encoder.{name}.weight"], s[f"encoder.{name}.bias"] = w(32, channels if i == 0 else 32, 4, 4), b(32)
    s["encoder.lin1.weight"], s["encoder.lin1.bias"] = w(256, 512), b(256)
    s["encoder.lin2.weight"], s["encoder.lin2.bias"] = w(256, 256), b(256)
    s["encoder.mu_logvar_gen.weight"], s["encoder.mu_logvar_gen.bias"] = w(2 * latent_dim, 256), b(2 * latent_dim)
    s["decoder.lin1.weight"], s["decoder.lin1.bias"] = w(256, latent_dim), b(256)
    s["decoder.lin2.weight"], s["decoder.lin2.bias"] = w(256, 256), b(256)
    s["decoder.lin3.weight"], s["decoder.lin3.bias"] = w(512, 256), b(512)
    deconvs = (["convT_64"] if height == 64 else []) + ["convT1", "convT2"]
    for name in deconvs:  # ConvTranspose2d weight [in, out, kh, kw]; fan-in as PyTorch counts it
        s[f"decoder.{name}.weight"], s[f"decoder.{name}.bias"] = w(32, 32, 4, 4), b(32)
    s["decoder.convT3.weight"], s["decoder.convT3.bias"] = w(32, channels, 4, 4), b(channels)
    return s


def write_checkpoint(path, state, fmt):
    WRITERS[fmt](path, collections.OrderedDict(
        (k, contiguous(str(i), v)) for i, (k, v) in enumerate(state.items())))


def max_errors(model, state, rng, image_shape):
    """Largest |tfdisvae − reference| of the encoder's mean, log-variance and the decoder's logits."""
    x = (rng.uniform(size=(2, *image_shape)) > 0.6).astype(np.float32)
    z = rng.standard_normal((2, model.latent_dim)).astype(np.float32)
    mu, logvar = T.encoder_forward(state, x.transpose(0, 3, 1, 2).astype(np.float64))
    logits = T.decoder_logits(state, z.astype(np.float64), image_shape[0]).transpose(0, 2, 3, 1)
    mean, log_var = (t.numpy() for t in model.encode_params(x))
    ours = model.decode_params(z).numpy()

    def err(a, b):
        return float(np.max(np.abs(a - b) / (ATOL + RTOL * np.abs(b))))

    return {"mean": err(mean, mu), "log_var": err(log_var, logvar), "logits": err(ours, logits)}


def test_numpy_reference_ops_are_pytorch_conv_semantics():
    """The numpy reference itself: conv2d equals the direct sum of its definition, and
    conv_transpose2d is its adjoint (<conv(x), y> = <x, conv_t(y)>), as PyTorch defines it."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 6, 6))
    weight = rng.standard_normal((3, 2, 4, 4))
    out = T.conv2d(x, weight, np.zeros(3))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    direct = np.array([[[sum(xp[0, i, 2 * u + a, 2 * v + b] * weight[o, i, a, b]
                             for i in range(2) for a in range(4) for b in range(4))
                         for v in range(3)] for u in range(3)] for o in range(3)])
    np.testing.assert_allclose(out[0], direct, rtol=1e-12)
    y = rng.standard_normal(out.shape)
    back = T.conv_transpose2d(y, weight, np.zeros(2))  # weight [3, 2, ...] read as [in=3, out=2]
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(out * y), np.sum(x * back), rtol=1e-10)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("image_shape", [(64, 64, 1), (32, 32, 3)])
def test_imported_model_computes_the_reference_forward_pass(fmt, image_shape, tmp_path):
    rng = np.random.default_rng(hash((fmt, image_shape)) % 2**32)
    state = burgess_state(rng, image_shape, latent_dim=3)
    path = tmp_path / "model.pt"
    write_checkpoint(path, state, fmt)
    model = dv.from_disentangling_vae(path)  # no specs.json: a VAE with the shapes of the weights
    assert (model.method, model.image_shape, model.latent_dim) == ("vae", image_shape, 3)
    errors = max_errors(model, state, rng, image_shape)
    assert max(errors.values()) <= 1.0, errors


BROKEN = {
    "no CHW->HWC permutation": ("chw_to_hwc", lambda v, *a, **k: v),
    "deconv kernels flipped": ("deconv_kernel",
                               lambda w: np.ascontiguousarray(np.transpose(w, (2, 3, 1, 0))[::-1, ::-1])),
    "conv kernel kh/kw swapped": ("conv_kernel", lambda w: np.ascontiguousarray(np.transpose(w, (3, 2, 1, 0)))),
    "deconv in/out swapped": ("deconv_kernel", lambda w: np.ascontiguousarray(np.transpose(w, (2, 3, 0, 1)))),
}


@pytest.mark.parametrize("mistake", sorted(BROKEN))
def test_each_mapping_mistake_is_caught(mistake, tmp_path):
    """The comparison above fails for each of these wrong mappings (so it can fail)."""
    rng = np.random.default_rng(11)
    state = burgess_state(rng)
    path = tmp_path / "model.pt"
    write_checkpoint(path, state, "zip")
    name, wrong = BROKEN[mistake]
    with mock.patch.object(dv, name, wrong):
        try:
            model = dv.from_disentangling_vae(path)
        except dv.PretrainedImportError as err:  # a shape check caught it first
            assert "shape" in str(err)
            return
        errors = max_errors(model, state, rng, (64, 64, 1))
    assert max(errors.values()) > 10.0, errors


def test_mean_and_log_variance_are_de_interleaved(tmp_path):
    """The reference's last Linear interleaves (mu_0, logvar_0, mu_1, ...): a bias-only layer makes
    the order visible."""
    rng = np.random.default_rng(5)
    state = burgess_state(rng, latent_dim=4)
    state["encoder.mu_logvar_gen.weight"][:] = 0.0
    state["encoder.mu_logvar_gen.bias"][:] = np.arange(8, dtype=np.float32)
    path = tmp_path / "model.pt"
    write_checkpoint(path, state, "legacy")
    mean, log_var = dv.from_disentangling_vae(path).encode_params(np.zeros((1, 64, 64, 1), np.float32))
    np.testing.assert_array_equal(mean.numpy()[0], [0, 2, 4, 6])
    np.testing.assert_array_equal(log_var.numpy()[0], [1, 3, 5, 7])


SPECS = {
    "VAE": ("vae", {"reg_anneal_steps": 10000}),
    "betaH": ("beta_vae_h", {"beta": 4.0, "reg_anneal_steps": 10000}),
    "betaB": ("beta_vae_b", {"c_init": 0.0, "c_final": 25.0, "c_steps": 100000, "capacity_weight": 100.0}),
    "factor": ("factor_vae", {"tc_weight": 6.4, "reg_anneal_steps": 10000}),
    "btcvae": ("beta_tcvae", {"alpha": 1.0, "beta": 6.4, "gamma": 1.0, "estimator": "mss"}),
}


def _specs(loss, over=None):
    specs = {"loss": loss, "dataset": "dsprites", "img_size": [1, 64, 64], "latent_dim": 3,
             "model_type": "Burgess", "rec_dist": "bernoulli", "batch_size": 64, "epochs": 30,
             "lr": 5e-4, "lr_disc": 1e-4, "reg_anneal": 10000, "seed": 1234, "betaH_B": 4,
             "betaB_initC": 0, "betaB_finC": 25, "betaB_G": 100, "factor_G": 6.4, "btcvae_A": 1,
             "btcvae_B": 6.4, "btcvae_G": 1}
    if loss == "betaB":
        specs["reg_anneal"] = 100000
    specs.update(over or {})
    return specs


@pytest.mark.parametrize("loss", sorted(SPECS))
def test_specs_json_gives_method_and_settings(loss, tmp_path):
    state = burgess_state(np.random.default_rng(0))
    write_checkpoint(tmp_path / "model.pt", state, "zip")
    (tmp_path / "specs.json").write_text(json.dumps(_specs(loss)))
    model, config = dv.from_disentangling_vae(tmp_path / "model.pt", return_config=True)
    method, hparams = SPECS[loss]
    assert model.method == method and config.model == method
    for key, value in hparams.items():
        assert model.hparams[key] == value and getattr(config, key) == value, key
    assert (config.batch_size, config.epochs, config.lr, config.dataset) == (64, 30.0, 5e-4, "dsprites")
    assert config.steps == 30 * 737_280 // 64 and model.dataset_size == 737_280
    if loss == "factor":
        assert config.discriminator_lr == 1e-4


def test_models_that_do_not_map_exactly_are_refused(tmp_path):
    write_checkpoint(tmp_path / "model.pt", burgess_state(np.random.default_rng(0)), "zip")
    cases = {"rec_dist": ({"rec_dist": "gaussian"}, "sigmoid"),
             "latent_dim": ({"latent_dim": 10}, "latent_dim"),
             "img_size": ({"img_size": [3, 64, 64]}, "img_size"),
             "loss": ({"loss": "dip"}, "loss")}
    for over, message in cases.values():
        with pytest.raises(dv.PretrainedImportError, match=message):
            dv.from_disentangling_vae(tmp_path / "model.pt", specs=_specs("VAE", over))
    state = burgess_state(np.random.default_rng(0))
    del state["decoder.convT2.weight"]
    write_checkpoint(tmp_path / "partial.pt", state, "zip")
    with pytest.raises(dv.PretrainedImportError, match="decoder.convT2.weight"):
        dv.from_disentangling_vae(tmp_path / "partial.pt")
