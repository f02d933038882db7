#!/usr/bin/env bash
# Local Elasticsearch 8.19.x for development and tests: single node on loopback, no Docker.
#
#   bash infra/local/elasticsearch.sh start|stop|status
#
# start  fetches the integ-test zip once with Maven (newest 8.19.x that resolves, or ES_VERSION),
#        unpacks it under ${CHITTI_CACHE:-<repo>/.cache}/elasticsearch, runs it as the system user
#        chitti-es (Elasticsearch refuses root) on Java 17, and waits for yellow/green health.
#        Running it again while the node is up does nothing.
# stop   stops the node started here and waits until it is gone. Data is kept for the next start.
# status prints whether the node runs and its health; exit 0 when healthy, 3 when not running.
#
# Environment: CHITTI_CACHE, ES_VERSION (exact version, skips resolution), ES_PORT (default 9200),
# ES_HEAP (default 512m), ES_USER (default chitti-es), ES_START_TIMEOUT (seconds, default 180),
# ES_INSTANCE (a name: a separate node with its own data, e.g. ES_INSTANCE=fault ES_PORT=9251).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache="${CHITTI_CACHE:-$repo/.cache}/elasticsearch"
port="${ES_PORT:-9200}"
heap="${ES_HEAP:-512m}"
es_user="${ES_USER:-chitti-es}"
start_timeout="${ES_START_TIMEOUT:-180}"
instance="${ES_INSTANCE:-default}"
[[ "$instance" =~ ^[a-z0-9-]+$ ]] || { echo "elasticsearch: ES_INSTANCE must be lower-case letters, digits, -" >&2; exit 2; }
# The default node keeps its state directly under the cache; named instances (a second node for a
# fault test, on its own ES_PORT) get their own data, logs and pid file beside it.
if [[ "$instance" == default ]]; then state="$cache"; else state="$cache/instances/$instance"; fi
pid_file="$state/run/elasticsearch.pid"
url="http://127.0.0.1:$port"

log() { printf 'elasticsearch: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

pid_alive() {
  [[ -f "$pid_file" ]] || return 1
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

healthy() {
  curl -fsS --max-time 3 "$url/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null |
    grep -Eq '"status":"(yellow|green)"'
}

need_root_for() {
  [[ $(id -u) -eq 0 ]] || die "$1 needs root (run as root, or install it yourself)"
}

ensure_tools() {
  local missing=()
  command -v mvn >/dev/null || missing+=(maven)
  command -v unzip >/dev/null || missing+=(unzip)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]})); then
    need_root_for "installing ${missing[*]}"
    log "installing ${missing[*]} with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Elasticsearch 8.x runs on Java 17; the zip brings no JDK.
find_java17() {
  if [[ -n "${ES_JAVA_HOME:-}" && -x "$ES_JAVA_HOME/bin/java" ]]; then
    echo "$ES_JAVA_HOME"
    return
  fi
  local candidate
  for candidate in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/temurin-17-* /usr/lib/jvm/openjdk-17; do
    if [[ -x "$candidate/bin/java" ]]; then
      echo "$candidate"
      return
    fi
  done
  need_root_for "installing Java 17"
  log "installing openjdk-17-jre-headless with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  for candidate in /usr/lib/jvm/java-17-openjdk-*; do
    [[ -x "$candidate/bin/java" ]] && echo "$candidate" && return
  done
  die "no Java 17 found under /usr/lib/jvm"
}

ensure_user() {
  if [[ $(id -u) -ne 0 ]]; then
    es_user=$(id -un) # not root: Elasticsearch runs as the caller
    return
  fi
  if ! id "$es_user" >/dev/null 2>&1; then
    log "creating system user $es_user"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$es_user"
  fi
}

# Prints the path of the unpacked distribution, fetching and unpacking it on first use.
ensure_distribution() {
  mkdir -p "$cache/download"
  local zip version
  if [[ -n "${ES_VERSION:-}" ]]; then
    version="$ES_VERSION"
  elif [[ -f "$cache/version" ]]; then
    version=$(cat "$cache/version")
  fi
  zip="$cache/download/elasticsearch-${version:-unknown}.zip"
  if [[ -z "${version:-}" || ! -f "$zip" ]]; then
    local range="${version:-[8.19.0,8.20.0)}"
    log "resolving org.elasticsearch.distribution.integ-test-zip:elasticsearch:$range:zip with Maven"
    mvn -q -B -f "$here/elasticsearch/pom.xml" -Des.version="$range" \
      dependency:copy-dependencies -DoutputDirectory="$cache/download" >&2 ||
      die "Maven could not fetch Elasticsearch $range"
    zip=$(ls -1 "$cache"/download/elasticsearch-8.19.*.zip 2>/dev/null | sort -V | tail -n 1)
    [[ -n "$zip" ]] || die "no zip in $cache/download after the Maven fetch"
    version=$(basename "$zip" .zip)
    version=${version#elasticsearch-}
    echo "$version" >"$cache/version"
  fi
  local home="$cache/elasticsearch-$version"
  if [[ ! -x "$home/bin/elasticsearch" ]]; then
    log "unpacking $version"
    rm -rf "$cache/unpack" && mkdir -p "$cache/unpack"
    unzip -q "$zip" -d "$cache/unpack"
    mv "$cache/unpack/elasticsearch-$version" "$home"
    rm -rf "$cache/unpack"
  fi
  echo "$home"
}

start() {
  if pid_alive && healthy; then
    log "already running at $url (pid $(cat "$pid_file"))"
    return 0
  fi
  if ! pid_alive && healthy; then
    log "a node not started by this script already answers at $url; leaving it alone"
    return 0
  fi
  if pid_alive; then
    log "pid $(cat "$pid_file") is up but not healthy yet; waiting"
  else
    ensure_tools
    local java_home home
    java_home=$(find_java17)
    home=$(ensure_distribution)
    ensure_user
    cp "$here/elasticsearch/elasticsearch.yml" "$home/config/elasticsearch.yml"
    mkdir -p "$state/data" "$state/logs" "$state/run" "$state/tmp"
    # Elasticsearch must own its folder: it writes config/ (keystore) as well as data and logs.
    if [[ $(id -u) -eq 0 ]]; then
      chown -R "$es_user:" "$home" "$state/data" "$state/logs" "$state/run" "$state/tmp"
    fi
    rm -f "$pid_file"
    log "starting $(basename "$home") ($instance) as $es_user on $url (heap $heap, Java $java_home)"
    local -a as_user=()
    [[ $(id -u) -eq 0 ]] && as_user=(runuser -u "$es_user" --)
    (cd "$home" && "${as_user[@]}" env -i PATH=/usr/bin:/bin HOME="$state/tmp" \
      ES_JAVA_HOME="$java_home" ES_TMPDIR="$state/tmp" \
      ES_JAVA_OPTS="-Xms$heap -Xmx$heap" \
      "$home/bin/elasticsearch" -d -p "$pid_file" \
      -E "http.port=$port" -E "path.data=$state/data" -E "path.logs=$state/logs") \
      >"$state/run/startup.log" 2>&1 || {
      tail -n 40 "$state/run/startup.log" >&2
      die "bin/elasticsearch failed to start; output above, logs in $state/logs"
    }
  fi
  local waited=0
  until healthy; do
    if ((waited > 5)) && ! pid_alive; then
      tail -n 40 "$state/run/startup.log" >&2 2>/dev/null || true
      die "the node exited during start-up; log above"
    fi
    ((waited >= start_timeout)) && die "not healthy after ${start_timeout}s; see $state/logs"
    sleep 1
    waited=$((waited + 1))
  done
  log "ready at $url (pid $(cat "$pid_file"))"
}

stop() {
  if ! pid_alive; then
    rm -f "$pid_file"
    log "not running"
    return 0
  fi
  local pid waited=0
  pid=$(cat "$pid_file")
  log "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited == 120)); then
      log "pid $pid ignored SIGTERM for 60s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  rm -f "$pid_file"
  log "stopped"
}

status() {
  if pid_alive; then
    local health
    health=$(curl -fsS --max-time 3 "$url/_cluster/health" 2>/dev/null || echo 'no answer')
    echo "running: pid $(cat "$pid_file"), $url, health $health"
    healthy
  elif healthy; then
    echo "a node not started by this script answers at $url"
  else
    echo "not running"
    return 3
  fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
