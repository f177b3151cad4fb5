#!/usr/bin/env bash
# Run the official TensorFlow Serving image on an export base, without docker compose.
#   serving/run_server.sh /abs/path/to/exports [tf-serving-version]
# gRPC on localhost:8500, REST on localhost:8501. Same settings as docker-compose.yml.
set -euo pipefail
export_base="${1:?usage: $0 EXPORT_BASE [TF_SERVING_VERSION]}"
version="${2:-latest}"
here="$(cd "$(dirname "$0")" && pwd)"
exec docker run --rm -p 8500:8500 -p 8501:8501 \
  -v "$(cd "$export_base" && pwd)":/models:ro \
  -v "$here/models.config":/config/models.config:ro \
  "tensorflow/serving:$version" \
  --model_config_file=/config/models.config \
  --model_config_file_poll_wait_seconds=60 \
  --file_system_poll_wait_seconds=10 \
  --enable_model_warmup=true
