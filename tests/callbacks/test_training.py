"""The progress bar of a real tiny training: --verbose=1 (the default) a Keras Progbar over the steps of
this call with an ETA, --verbose=2 one plain line per 5 % of the steps with the global step, 0 silent."""

import re

import numpy as np

from tfdisvae.config import TrainConfig
from tfdisvae.training import ArrayData, train

ANSI = re.compile(r"\x1b\[[0-9;]*m")
IMAGES = (np.random.default_rng(0).random((32, 32, 32, 1)) > 0.8).astype(np.float32)


def _train(run_dir, steps, verbose, capsys):
    config = TrainConfig.create(preset=None, model="beta_vae_h", latent_dim=4, batch_size=8,
                                steps=steps, checkpoint_every=100, summary_every=1, image_every=0,
                                estimates_every=0, run_dir=str(run_dir), verbose=verbose, seed=3)
    capsys.readouterr()
    train(config, data=ArrayData(IMAGES, name="blobs"), log=lambda *_: None)
    return ANSI.sub("", capsys.readouterr().out)


def _frames(out):
    """The states the bar was drawn in: Progbar redraws with backspaces and a carriage return."""
    return [f.strip() for f in re.split(r"[\r\n\b]+", out) if f.strip()]


def test_default_bar_counts_the_steps_with_an_eta_and_resumes_counting(tmp_path, capsys):
    assert TrainConfig.create(model="beta_vae_h").verbose == 1
    frames = _frames(_train(tmp_path / "run", 6, 1, capsys))
    assert frames[0] == "training steps 0 -> 6"
    # The first update is always drawn, with the time left: `1/6 ━━━… 3s 40ms/step - loss: …`.
    first = re.fullmatch(r"1/6 (━{20}) (\d+s|\d+:\d\d) \d+(us|ms|s)/step - loss: \S+ - "
                         r"reconstruction: \S+ - kl: \S+", frames[1])
    assert first, frames[1]
    # The last shows the time spent instead of the ETA, and no term the bar does not show.
    last = re.fullmatch(r"6/6 ━{20} \d+s \d+(us|ms|s)/step - loss: (\S+) - reconstruction: \S+ - "
                        r"kl: \S+", frames[-1])
    assert last and float(last.group(2)) > 0, frames[-1]
    assert all(re.match(r"[1-6]/6 ", f) for f in frames[1:]), frames
    assert "minibatch" not in " ".join(frames) and "kl_z0" not in " ".join(frames)
    # Resumed: the bar counts the steps of this call, its header the global ones.
    frames = _frames(_train(tmp_path / "run", 9, 1, capsys))
    assert frames[0] == "training steps 6 -> 9" and frames[-1].startswith("3/3 ━"), frames


def test_verbose_2_prints_plain_lines_and_0_prints_nothing(tmp_path, capsys):
    lines = _train(tmp_path / "run", 40, 2, capsys).splitlines()
    assert lines[0] == "training steps 0 -> 40"
    # One line every 40 // 20 = 2 steps, each a whole line a log file keeps.
    steps = [int(re.fullmatch(r"step (\d+)/40 eta \d+:\d\d loss=\S+ reconstruction=\S+ kl=\S+",
                              line).group(1)) for line in lines[1:]]
    assert steps == list(range(2, 41, 2))
    assert _train(tmp_path / "quiet", 2, 0, capsys) == ""
