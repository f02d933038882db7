#!/usr/bin/env bash
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/kafka.sh" stop
bash "$here/elasticsearch.sh" stop
