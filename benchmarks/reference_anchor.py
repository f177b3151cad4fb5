"""Re-measure the issue's anchor: the reference PyTorch training step, on this machine, today.

    python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchenv/bin/python benchmarks/reference_anchor.py --seconds=20

The anchor of docs/benchmarks.md (about 750 images/s; FactorVAE 650) was measured with the poster's
public PyTorch code (YannDubs/disentangling-vae) on a machine of this kind. Machines of one kind differ
from day to day, so this script rebuilds that code's training step in PyTorch — the Burgess encoder and
decoder (4 convolutions 32×4×4 stride 2, 2 dense 256, 10 latents), sigmoid output and summed binary
cross-entropy per image, the same loss terms per method (beta-TCVAE's [B, B, D] minibatch-stratified
log-density matrix; FactorVAE's 6 × 1000 discriminator, its second half through the encoder, two Adam
updates), Adam at 5e-4, batch 64 (FactorVAE 128), `torch.set_num_threads(2)` — and times it the way
benchmarks/train_throughput.py times the library's: after warm-up, median over repeats. It feeds batches
already in memory (no DataLoader), which flatters the reference; the library's figures include its
input pipeline. Run it beside train_throughput.py, one after the other on a quiet machine, and compare.
Needs only torch and numpy: tfdisvae does not depend on torch.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time

import numpy as np

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ImportError as error:  # pragma: no cover - a message for whoever runs it
    raise SystemExit("benchmarks/reference_anchor.py needs PyTorch, which tfdisvae does not install: "
                     "python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.13.0 numpy, "
                     f"then run it with /tmp/torchenv/bin/python ({error})") from None

METHODS = ("vae", "beta_vae_h", "beta_vae_b", "beta_tcvae", "factor_vae")
PRESET_BATCH = {"factor_vae": 128}
LATENTS = 10
N_DATA = 737_280  # dSprites, for beta-TCVAE's stratified sampling weights


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(1 if i == 0 else 32, 32, 4, stride=2, padding=1)
                                    for i in range(4)])
        self.dense = nn.Sequential(nn.Linear(32 * 4 * 4, 256), nn.ReLU(),
                                   nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 2 * LATENTS))

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x))
        mean, logvar = self.dense(x.flatten(1)).chunk(2, dim=-1)
        return mean, logvar


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Sequential(nn.Linear(LATENTS, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                   nn.Linear(256, 32 * 4 * 4), nn.ReLU())
        self.deconvs = nn.ModuleList([nn.ConvTranspose2d(32, 1 if i == 3 else 32, 4, stride=2,
                                                         padding=1) for i in range(4)])

    def forward(self, z):
        x = self.dense(z).view(-1, 32, 4, 4)
        for i, deconv in enumerate(self.deconvs):
            x = deconv(x)
            x = torch.sigmoid(x) if i == 3 else F.relu(x)
        return x


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = Encoder(), Decoder()

    def sample(self, mean, logvar):
        return mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)

    def forward(self, x):
        mean, logvar = self.encoder(x)
        z = self.sample(mean, logvar)
        return self.decoder(z), mean, logvar, z


def reconstruction(x, probs):
    return F.binary_cross_entropy(probs, x, reduction="sum") / x.shape[0]


def kl_per_dim(mean, logvar):
    return (0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar)).mean(0)


def gaussian_log_density(z, mean, logvar):
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mean).pow(2) * torch.exp(-logvar))


def tcvae_terms(z, mean, logvar):
    """MI, TC, dimension-wise KL with minibatch stratified sampling (Chen et al. 2018)."""
    batch = z.shape[0]
    log_q_z_given_x = gaussian_log_density(z, mean, logvar).sum(1)
    log_pz = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)
    matrix = gaussian_log_density(z[:, None], mean[None], logvar[None])  # [B, B, D]
    strat = (N_DATA - batch + 1) / (N_DATA * (batch - 1))
    weights = torch.full((batch, batch), 1.0 / (batch - 1))
    weights.view(-1)[::batch] = 1.0 / N_DATA  # the strides of Chen et al.'s weight matrix
    weights.view(-1)[1::batch] = strat
    weights[batch - 2, 0] = strat
    log_w = weights.log()
    log_qz = torch.logsumexp(log_w + matrix.sum(2), dim=1)
    log_prod_qzi = torch.logsumexp(log_w[:, :, None] + matrix, dim=1).sum(1)
    return ((log_q_z_given_x - log_qz).mean(), (log_qz - log_prod_qzi).mean(),
            (log_prod_qzi - log_pz).mean())


def make_step(method: str):
    """One reference training step for `method` on a batch x, returning the loss as a float."""
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    logs = {}

    if method == "factor_vae":
        layers = [nn.Linear(LATENTS, 1000), nn.LeakyReLU(0.2)]
        for _ in range(4):
            layers += [nn.Linear(1000, 1000), nn.LeakyReLU(0.2)]
        discriminator = nn.Sequential(*layers, nn.Linear(1000, 2))
        optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=5e-5, betas=(0.5, 0.9))

        def step(x):
            first, second = x.chunk(2)
            probs, mean, logvar, z = model(first)
            logits = discriminator(z)
            tc = (logits[:, 0] - logits[:, 1]).mean()
            loss = reconstruction(first, probs) + kl_per_dim(mean, logvar).sum() + 6.4 * tc
            optimizer.zero_grad()
            loss.backward(retain_graph=True)
            mean2, logvar2 = model.encoder(second)
            z2 = model.sample(mean2, logvar2)
            z_perm = torch.stack([column[torch.randperm(len(column))] for column in z2.t()], 1)
            logits_perm = discriminator(z_perm.detach())
            ones = torch.ones(len(first), dtype=torch.long)
            d_loss = 0.5 * (F.cross_entropy(logits, torch.zeros_like(ones))
                            + F.cross_entropy(logits_perm, ones))
            optimizer_d.zero_grad()
            d_loss.backward()
            optimizer.step()
            optimizer_d.step()
            logs["tc"], logs["d_loss"] = tc.item(), d_loss.item()
            return loss.item()
        return step

    def step(x):
        probs, mean, logvar, z = model(x)
        recon = reconstruction(x, probs)
        kl = kl_per_dim(mean, logvar)
        if method == "beta_tcvae":
            mi, tc, dwkl = tcvae_terms(z, mean, logvar)
            loss = recon + mi + 6.0 * tc + dwkl
        elif method == "beta_vae_b":
            loss = recon + 100.0 * (kl.sum() - 10.0).abs()
        else:
            loss = recon + (4.0 if method == "beta_vae_h" else 1.0) * kl.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        logs["recon"], logs["kl"] = recon.item(), kl.sum().item()
        return loss.item()
    return step


def measure(method: str, batch: int, seconds: float, repeats: int) -> dict:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    # dSprites images are binary; 16 batches in memory, cycled.
    batches = [torch.from_numpy((rng.random((batch, 1, 64, 64)) < 0.1).astype(np.float32))
               for _ in range(16)]
    step = make_step(method)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < 3.0 or steps < 10:  # warm-up
        step(batches[steps % 16])
        steps += 1
    per_step = (time.perf_counter() - start) / steps
    steps_per_repeat = max(5, int(seconds / repeats / per_step))
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps_per_repeat):
            loss = step(batches[i % 16])
        rates.append(steps_per_repeat * batch / (time.perf_counter() - start))
    return {"images_per_second": statistics.median(rates), "spread": (min(rates), max(rates)),
            "final_loss": loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="all", help=f"a method, a comma-separated list, or 'all' "
                                                       f"({', '.join(METHODS)})")
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per method")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (the anchor: 2)")
    args = parser.parse_args()
    methods = METHODS if args.model == "all" else tuple(args.model.split(","))
    for name in methods:
        if name not in METHODS:
            parser.error(f"unknown --model {name!r}; choose from {', '.join(METHODS)} or 'all'")
    torch.set_num_threads(args.threads)
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    print(f"machine: cpu={cpu} · cores={os.cpu_count()} · torch={torch.__version__} · "
          f"threads={torch.get_num_threads()} · device=CPU only")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    for method in methods:
        batch = PRESET_BATCH.get(method, 64)
        result = measure(method, batch, args.seconds, args.repeats)
        low, high = result["spread"]
        rows.append({"method": method, "batch_size": batch,
                     "images_per_second": round(result["images_per_second"], 1)})
        print(f"  {method:11s} batch {batch:3d} {result['images_per_second']:8,.0f} images/s "
              f"(spread {low:,.0f}–{high:,.0f}, load {os.getloadavg()[0]:.2f}, "
              f"loss {result['final_loss']:.1f})", flush=True)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(json.dumps({"reference": "pytorch re-creation", "torch": torch.__version__, "rows": rows},
                     sort_keys=True))


if __name__ == "__main__":
    main()
