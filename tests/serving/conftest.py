"""Fixtures of the serving tests: the test doubles module, the standalone client module, one toy export."""

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _load(name, path):
    """Load a file that is not in a package (serving/client.py is a standalone script) by path, once."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="package")
def doubles():
    """tests/serving/serving_doubles.py: RestServingDouble, GrpcServingDouble, make_toy_networks."""
    return _load("tfdisvae_serving_doubles", HERE / "serving_doubles.py")


@pytest.fixture(scope="package")
def client_module():
    return _load("tfdisvae_serving_client", HERE.parents[1] / "serving" / "client.py")


@pytest.fixture(scope="package")
def toy_export(tmp_path_factory, doubles):
    """One export of the toy networks: (ExportResult, encoder, decoder, export_base)."""
    from tfdisvae import export

    base = tmp_path_factory.mktemp("serving_base")
    encoder, decoder = doubles.make_toy_networks()
    result = export.export_encoder_decoder(encoder, decoder, base, "toy", likelihood="bernoulli")
    return result, encoder, decoder, base
