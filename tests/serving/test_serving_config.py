"""serving/models.config, docker-compose.yml and run_server.sh agree with each other and with export's layout."""

import re
from pathlib import Path

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

SERVING = Path(__file__).resolve().parents[2] / "serving"


def _parse_config(text):
    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def test_models_config_serves_the_encoder_and_decoder_of_one_export():
    config = _parse_config((SERVING / "models.config").read_text())
    models = {m.name: m for m in config.model_config_list.config}
    assert len(models) == 2
    (encoder,) = [n for n in models if n.endswith("_encoder")]
    assert encoder.removesuffix("_encoder") + "_decoder" in models  # export.py's naming
    for name, model in models.items():
        assert model.base_path == f"/models/{name}" and model.model_platform == "tensorflow"
        assert model.model_version_policy.WhichOneof("policy_choice") == "latest"
        assert model.model_version_policy.latest.num_versions == 1


def test_rollback_policy_from_the_readme_parses():
    readme = (SERVING / "README.md").read_text()
    assert "specific { versions: 6 versions: 7 }" in readme
    config = _parse_config("""
        model_config_list { config {
          name: "dsprites_encoder" base_path: "/models/dsprites_encoder" model_platform: "tensorflow"
          model_version_policy { specific { versions: 6 versions: 7 } }
          version_labels { key: "stable" value: 6 } version_labels { key: "canary" value: 7 } } }""")
    model = config.model_config_list.config[0]
    assert list(model.model_version_policy.specific.versions) == [6, 7]
    assert dict(model.version_labels) == {"stable": 6, "canary": 7}


def test_compose_and_script_mount_what_the_server_is_told_to_read():
    compose = (SERVING / "docker-compose.yml").read_text()
    script = (SERVING / "run_server.sh").read_text()
    assert "tensorflow/serving:" in compose and "tensorflow/serving:" in script
    for text in (compose, script):
        assert re.search(r"models\.config\"?:/config/models\.config:ro", text)
        assert re.search(r":/models:ro", text)
        flags = set(re.findall(r"--[a-z_]+=\S+", text))
        assert {"--model_config_file=/config/models.config", "--enable_model_warmup=true"} <= flags
    assert sorted(re.findall(r'"(\d+):(\d+)"', compose)) == [("8500", "8500"), ("8501", "8501")]
