"""tfdisvae.data.pipeline: the one loader of a config that train, evaluate and viz share, its one-line
errors, and the train_subset."""

import dataclasses
import types

import numpy as np
import pytest

from tfdisvae.config import ConfigError, TrainConfig
from tfdisvae.data import ArrayData, float_images, pipeline
from tfdisvae.data.pipeline import DataError

ORIGINAL = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"


def _config(**kw):
    return TrainConfig.create(**{"model": "beta_vae_h", "dataset": "dsprites",
                                 "data_source": "render", **kw})


def test_the_loader_gives_the_whole_dsprites_grid():
    data = pipeline.load(_config())
    assert data.factor_sizes == (3, 6, 40, 32, 32) and data.num_examples == 737_280
    assert data.index_of(data.factors([0, 1234, 737_279])).tolist() == [0, 1234, 737_279]


def test_a_damaged_file_is_one_line_for_every_caller(tmp_path):
    (tmp_path / ORIGINAL).write_bytes(b"PK\x03\x04" + b"\0" * 500)
    config = _config(data_source="auto", data_dir=str(tmp_path))
    calls = [lambda: pipeline.load(config),
             # evaluate's --data_dir overrides the run's
             lambda: pipeline.load(dataclasses.replace(config, data_dir=None), str(tmp_path))]
    for call in calls:
        with pytest.raises(DataError) as err:
            call()
        message = str(err.value)
        assert "\n" not in message and f"{tmp_path / ORIGINAL} cannot be read (BadZipFile" in message
        assert "--data_source=render" in message
        # A ValueError too: evaluate's and viz's command lines report it as one line of bad input.
        assert isinstance(err.value, ValueError) and isinstance(err.value, RuntimeError)


def test_a_set_not_prepared_and_an_unknown_set(tmp_path):
    with pytest.raises(DataError, match=f"data set 'mnist' is not prepared in {tmp_path}.*"
                                        "tfds build mnist"):
        pipeline.load(_config(dataset="mnist", data_source=None), data_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="unknown dataset 'nope'; valid: dsprites, "):
        pipeline.load(types.SimpleNamespace(dataset="nope", data_dir=None))


def test_training_data_is_the_seeded_subset_in_memory():
    config = _config(train_subset=50, seed=4)
    data = pipeline.load(config)
    subset = pipeline.training_data(config, data)
    assert isinstance(subset, ArrayData) and subset.name == "dsprites[50]"
    indices = np.sort(np.random.default_rng(4).choice(737_280, size=50, replace=False))
    np.testing.assert_array_equal(subset.images(np.arange(50)), float_images(data, indices))
    assert pipeline.training_data(_config(), data) is data
    with pytest.raises(ConfigError, match="train_subset 737281 is larger than dsprites"):
        pipeline.training_data(_config(train_subset=737_281), data)
