#!/usr/bin/env bash
# Validates docker-compose.yml and its assets without a container engine (CI calls this):
#  - `docker-compose config` accepts the file (Debian's docker-compose package needs no engine);
#  - every required service is there;
#  - it refuses to render without the secrets (no default passwords or keys);
#  - the files it mounts exist, and the Grafana dashboard is valid JSON;
#  - the Dockerfile is multi-stage and runs as a non-root user.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() {
  echo "compose validation: $*" >&2
  exit 1
}

if command -v docker-compose >/dev/null; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  fail "docker-compose not found (apt-get install docker-compose)"
fi

secrets=(
  POSTGRES_PASSWORD=validate-only
  "JWT_KEYS=validate:$(od -An -N32 -tx1 /dev/urandom | tr -d " \n")"
  GRAFANA_ADMIN_PASSWORD=validate-only
)

env "${secrets[@]}" "${compose[@]}" -f docker-compose.yml config -q || fail "docker-compose config rejected the file"

services=$(env "${secrets[@]}" "${compose[@]}" -f docker-compose.yml config --services | sort | tr '\n' ' ')
for required in postgres kafka elasticsearch redis otel-collector prometheus grafana migrate api relay projector inference; do
  [[ " $services" == *" $required "* ]] || fail "service '$required' missing (have: $services)"
done

if env -u POSTGRES_PASSWORD -u JWT_KEYS -u GRAFANA_ADMIN_PASSWORD \
  "${compose[@]}" -f docker-compose.yml config -q >/dev/null 2>&1; then
  fail "the file renders without secrets: a default secret slipped in"
fi

for path in infra/compose/otel-collector.yaml infra/compose/prometheus.yml infra/compose/alerts.yml \
  infra/compose/grafana/provisioning/datasources/prometheus.yml \
  infra/compose/grafana/provisioning/dashboards/chitti.yml Dockerfile .dockerignore; do
  [[ -f "$path" ]] || fail "$path is missing"
done
for dashboard in infra/compose/grafana/dashboards/*.json; do
  node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (!d.uid || !Array.isArray(d.panels) || d.panels.length === 0) process.exit(1);' "$dashboard" ||
    fail "$dashboard is not a dashboard"
done

[[ $(grep -c '^FROM ' Dockerfile) -ge 2 ]] || fail "Dockerfile is not multi-stage"
grep -q '^USER node' Dockerfile || fail "Dockerfile must run as the node user"

echo "compose validation: ok (${services% })"
