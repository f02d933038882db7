#!/usr/bin/env bash
# Fetches (once, cached under .cache/) and starts real Kafka (KRaft) and Elasticsearch on loopback.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/kafka.sh" start
bash "$here/elasticsearch.sh" start
