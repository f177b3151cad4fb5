"""The reference's Burgess encoder/decoder forward pass, written in numpy with PyTorch's semantics.

Independent of tfdisvae's mapping: NCHW tensors, Conv2d / ConvTranspose2d weights in PyTorch's layouts
([out, in, kh, kw] and [in, out, kh, kw]), Linear y = x W^T + b, and `view` flattening in (c, h, w)
order, as YannDubs/disentangling-vae's EncoderBurgess / DecoderBurgess compute them. Float64, so it is
also the exact value against which float32 implementations are measured.
"""

import numpy as np


def conv2d(x, weight, bias, stride=2, padding=1):
    """torch.nn.functional.conv2d: x [n, i, h, w], weight [o, i, kh, kw] -> [n, o, h', w']."""
    n, _, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for a in range(kh):
        for b in range(kw):
            patch = xp[:, :, a:a + stride * ho:stride, b:b + stride * wo:stride]  # [n, i, ho, wo]
            out += np.einsum("nihw,oi->nohw", patch, weight[:, :, a, b])
    return out + bias[None, :, None, None]


def conv_transpose2d(x, weight, bias, stride=2, padding=1):
    """torch.nn.functional.conv_transpose2d: x [n, i, h, w], weight [i, o, kh, kw] -> [n, o, h', w'].

    Every input pixel (u, v) scatters x[u, v]·weight[:, :, a, b] to (stride·u + a − padding,
    stride·v + b − padding); outputs outside [0, h') are dropped.
    """
    n, _, h, w = x.shape
    _, o, kh, kw = weight.shape
    ho = (h - 1) * stride - 2 * padding + kh
    wo = (w - 1) * stride - 2 * padding + kw
    full = np.zeros((n, o, (h - 1) * stride + kh, (w - 1) * stride + kw))
    for a in range(kh):
        for b in range(kw):
            full[:, :, a:a + stride * h:stride, b:b + stride * w:stride] += np.einsum(
                "nihw,io->nohw", x, weight[:, :, a, b])
    return full[:, :, padding:padding + ho, padding:padding + wo] + bias[None, :, None, None]


def linear(x, weight, bias):
    return x @ weight.T + bias


def relu(x):
    return np.maximum(x, 0.0)


def encoder_forward(state, x):
    """EncoderBurgess.forward: x [n, c, h, w] -> (mu, logvar), each [n, latent_dim]."""
    s = {k: np.asarray(v, np.float64) for k, v in state.items()}
    h = relu(conv2d(x, s["encoder.conv1.weight"], s["encoder.conv1.bias"]))
    h = relu(conv2d(h, s["encoder.conv2.weight"], s["encoder.conv2.bias"]))
    h = relu(conv2d(h, s["encoder.conv3.weight"], s["encoder.conv3.bias"]))
    if x.shape[2] == x.shape[3] == 64:
        h = relu(conv2d(h, s["encoder.conv_64.weight"], s["encoder.conv_64.bias"]))
    h = h.reshape(h.shape[0], -1)  # .view on a contiguous NCHW tensor: (c, h, w) order
    h = relu(linear(h, s["encoder.lin1.weight"], s["encoder.lin1.bias"]))
    h = relu(linear(h, s["encoder.lin2.weight"], s["encoder.lin2.bias"]))
    mu_logvar = linear(h, s["encoder.mu_logvar_gen.weight"], s["encoder.mu_logvar_gen.bias"])
    pairs = mu_logvar.reshape(mu_logvar.shape[0], -1, 2)  # .view(-1, latent_dim, 2).unbind(-1)
    return pairs[..., 0], pairs[..., 1]


def decoder_logits(state, z, image_size=64):
    """DecoderBurgess.forward before its final sigmoid: z [n, latent_dim] -> logits [n, c, h, w]."""
    s = {k: np.asarray(v, np.float64) for k, v in state.items()}
    h = relu(linear(z, s["decoder.lin1.weight"], s["decoder.lin1.bias"]))
    h = relu(linear(h, s["decoder.lin2.weight"], s["decoder.lin2.bias"]))
    h = relu(linear(h, s["decoder.lin3.weight"], s["decoder.lin3.bias"]))
    h = h.reshape(h.shape[0], 32, 4, 4)  # .view(batch, 32, 4, 4)
    if image_size == 64:
        h = relu(conv_transpose2d(h, s["decoder.convT_64.weight"], s["decoder.convT_64.bias"]))
    h = relu(conv_transpose2d(h, s["decoder.convT1.weight"], s["decoder.convT1.bias"]))
    h = relu(conv_transpose2d(h, s["decoder.convT2.weight"], s["decoder.convT2.bias"]))
    return conv_transpose2d(h, s["decoder.convT3.weight"], s["decoder.convT3.bias"])
