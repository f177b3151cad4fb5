"""The studies: each a list of `Setting`s (a method, its hyper-parameters, a preset), and the poster's
Table 1 they are compared with."""

from __future__ import annotations

import dataclasses
import math
import os

from tfdisvae.config import TrainConfig

__all__ = ["POSTER_COLUMNS", "POSTER_TABLE1", "SHIPPED_PATH", "STUDIES", "Setting", "run_name",
           "select"]


@dataclasses.dataclass(frozen=True)
class Setting:
    """One row of a study: `model` with the `preset`'s settings and `beta` (when given).

    name: run-directory prefix (STUDY_DIR/<name>-seed<k>); label: the row's name in the table;
    poster: the key of the row in POSTER_TABLE1 (None: the poster has no number for it).
    """

    name: str
    model: str
    beta: float | None = None
    preset: str = "poster"
    label: str | None = None
    poster: str | None = None

    def config(self, seed, run_dir, steps=None, data_dir=None, overrides=None, images=None):
        """The TrainConfig of this setting's run of `seed`.

        A budget replaces the preset's 30 epochs: `steps` (the same for every setting) or `images`
        (images per run; steps = ceil(images / batch size), so FactorVAE's batch of 128 gets half the
        steps of a batch of 64: the same epochs, as the preset's budget is).
        """
        if steps is not None and images is not None:
            raise ValueError("give a step budget (--steps) or an image budget (--images), not both")
        given = {"model": self.model, "seed": int(seed), "run_dir": run_dir, "verbose": 0}
        if self.beta is not None:
            given["beta"] = float(self.beta)
        if data_dir is not None:
            given["data_dir"] = data_dir
        given.update(overrides or {})
        if images is not None:
            if int(images) < 1:
                raise ValueError(f"--images must be a positive number of images, got {images!r}")
            batch_size = TrainConfig.create(preset=self.preset, **given).batch_size
            steps = math.ceil(int(images) / batch_size)
        if steps is not None:
            given["steps"] = int(steps)
        return TrainConfig.create(preset=self.preset, **given)


STUDIES = {
    "poster_table1": [
        Setting("vae", "vae", label="VAE", poster="vae"),
        Setting("beta_vae_h_b4", "beta_vae_h", beta=4.0, label="β-VAE_H (β = 4)", poster="beta_vae_h_b4"),
        Setting("beta_vae_h_b50", "beta_vae_h", beta=50.0, label="β-VAE_H (β = 50)",
                poster="beta_vae_h_b50"),
        Setting("beta_vae_b", "beta_vae_b", label="β-VAE_B", poster="beta_vae_b"),
        Setting("factor_vae", "factor_vae", label="FactorVAE", poster="factor_vae"),
        Setting("beta_tcvae", "beta_tcvae", label="β-TCVAE"),
    ],
}

# SPEC §5: the poster's dSprites table. KL, log-likelihood and total loss are normalised there in a way
# the poster does not state; we put our per-pixel values beside them.
POSTER_COLUMNS = ("aam", "mmig", "kl", "log_likelihood", "loss", "var_dimwise_kl")
POSTER_TABLE1 = {
    "vae": (0.20, 7.0e-4, 0.025, -0.001, 0.034, 1.5e-5),
    "beta_vae_h_b4": (0.65, 3.3e-2, 0.025, -0.015, 0.086, 1.1e-6),
    "beta_vae_h_b50": (0.08, 4.0e-4, 0.003, -0.140, 0.316, 3.6e-7),
    "beta_vae_b": (0.12, 2.0e-4, 0.025, -0.096, 0.108, 1.5e-5),
    "factor_vae": (0.87, 3.3e-2, 0.028, -0.036, 0.064, 5.7e-6),
}

# The scores of the poster's shipped models (table.read_shipped's format).
SHIPPED_PATH = os.path.join("results", "poster_shipped.json")


def run_name(setting, seed):
    """The run directory's name inside the study directory: <setting>-seed<k>."""
    return f"{setting.name}-seed{int(seed)}"


def select(study, only=None):
    """The settings of `study`, or those named in `only` (a list or "a,b"). Raises ValueError."""
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; valid: {', '.join(STUDIES)}")
    settings = STUDIES[study]
    if not only:
        return list(settings)
    names = [n.strip() for n in only.split(",")] if isinstance(only, str) else list(only)
    known = {s.name for s in settings}
    unknown = [n for n in names if n and n not in known]
    if unknown:
        raise ValueError(f"--only names unknown setting(s) {', '.join(unknown)}; {study} has: "
                         f"{', '.join(sorted(known))}")
    return [s for s in settings if s.name in names]
