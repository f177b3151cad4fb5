"""serving/models.config, docker-compose.yml and run_server.sh agree with each other and with export's layout."""

import re
from pathlib import Path

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

SERVING = Path(__file__).resolve().parents[2] / "serving"


def _shipped():
    return text_format.Parse((SERVING / "models.config").read_text(),
                             model_server_config_pb2.ModelServerConfig())


def test_models_config_serves_the_pair_export_writes(tmp_path, doubles):
    """The shipped models.config, read through TF Serving's own proto, names the two models an export of
    --model_name=dsprites (serving/README.md) writes, at the folders it writes them to (EXPORT_BASE is
    mounted at /models), each holding a complete version, under the README's `latest` policy."""
    from tfdisvae import export

    models = list(_shipped().model_config_list.config)
    result = export.export_encoder_decoder(*doubles.make_toy_networks(), tmp_path, "dsprites")
    assert [m.name for m in models] == [result.encoder_name, result.decoder_name]
    for model, written in zip(models, (result.encoder_dir, result.decoder_dir), strict=True):
        assert model.model_platform == "tensorflow"
        assert model.base_path.startswith("/models/")
        served = tmp_path / model.base_path.removeprefix("/models/")
        assert written.parent == served and export.list_versions(served) == [result.version]
        assert (written / "saved_model.pb").is_file()
        assert model.model_version_policy.WhichOneof("policy_choice") == "latest"
        assert model.model_version_policy.latest.num_versions == 1


def test_the_readmes_rollback_policies_apply_to_the_shipped_config():
    """Each pinned version policy and version label the README tells one to put into models.config, in
    its order, merges into the shipped config's models (the proto rejects a misspelt field)."""
    readme = (SERVING / "README.md").read_text()
    snippets = re.findall(r"`((?:model_version_policy \{ )?specific \{[^`]*\}|version_labels \{[^`]*\})`",
                          readme)
    assert len(snippets) == 4, snippets  # pin 6; canary 6 and 7; labels stable and canary
    config = _shipped()
    for model in config.model_config_list.config:
        for snippet in snippets:
            if snippet.startswith("specific"):
                snippet = f"model_version_policy {{ {snippet} }}"
            if snippet.startswith("model_version_policy"):
                model.ClearField("model_version_policy")
            text_format.Merge(snippet, model)
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
