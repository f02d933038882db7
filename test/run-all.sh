#!/usr/bin/env bash
# The whole suite against real servers: PostgreSQL and Redis (must be running), Kafka and
# Elasticsearch (fetched and started here by infra/local/up.sh), then the closing count line.
set -uo pipefail
cd "$(dirname "$0")/.."
source infra/local/ensure-services.sh
npm run --silent infra:up || { echo "infra:up failed"; exit 1; }
# CHITTI_KEEP_INFRA=1 leaves Kafka and Elasticsearch running afterwards (other work on this machine
# may be using them); by default the run stops what it started.
if [ "${CHITTI_KEEP_INFRA:-}" != "1" ]; then
  trap 'npm run --silent infra:down >/dev/null 2>&1' EXIT
fi
rm -f test-results.json
npx vitest run --reporter=default --reporter=json --outputFile=test-results.json "$@"
status=$?
if [ ! -s test-results.json ]; then echo "0 passed, 0 failed"; echo "vitest wrote no results"; exit 1; fi
node -e '
const r = JSON.parse(require("fs").readFileSync("test-results.json", "utf8"));
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
process.exit(r.numTotalTests > 0 && r.numFailedTests === 0 && r.success ? 0 : 1);
' || status=1
exit $status
