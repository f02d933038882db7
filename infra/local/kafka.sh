#!/usr/bin/env bash
# Local Apache Kafka for development and tests: one KRaft node (broker + controller) on loopback.
#
#   bash infra/local/kafka.sh start    fetch once (mvn), format storage once, start, wait until ready
#   bash infra/local/kafka.sh stop     stop it and wait until it has exited
#   bash infra/local/kafka.sh status   exit 0 when it runs and answers, 3 when it does not
#
# Needs only Java 17 and Maven. Everything it fetches or writes lives in the cache, outside git:
#   ${CHITTI_CACHE:-<repo>/.cache}/kafka/{libs,data,logs,run}
# Environment: KAFKA_HOST (127.0.0.1), KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093),
#   KAFKA_HEAP_OPTS (-Xms256m -Xmx512m), KAFKA_START_TIMEOUT_S (90),
#   KAFKA_INSTANCE: a name for a second, independent broker (its own data, logs and pid under
#   kafka/instances/<name>, sharing the jars), e.g. the fault tests' broker that they stop and start.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
templates="$here/kafka"

readonly KAFKA_VERSION=3.9.1
host=${KAFKA_HOST:-127.0.0.1}
port=${KAFKA_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-9093}
heap_opts=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
start_timeout_s=${KAFKA_START_TIMEOUT_S:-90}

cache=${CHITTI_CACHE:-$repo/.cache}/kafka
libs="$cache/libs"
if [[ -n ${KAFKA_INSTANCE:-} ]]; then
  [[ $KAFKA_INSTANCE =~ ^[a-z0-9-]+$ ]] || { echo "kafka: KAFKA_INSTANCE must match [a-z0-9-]+" >&2; exit 2; }
  state="$cache/instances/$KAFKA_INSTANCE"
else
  state="$cache"
fi
data="$state/data"
logs="$state/logs"
run="$state/run"
pid_file="$run/kafka.pid"
config="$run/server.properties"
log_config="$run/log4j.properties"
libs_stamp="$libs/.complete-$KAFKA_VERSION"

say() { printf 'kafka: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

require_tools() {
  command -v java >/dev/null || die "java not found: install a Java 17 runtime (e.g. apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "mvn not found: install Maven (e.g. apt-get install maven)"
}

# The pid from the pid file, when that process is still our broker (a recycled pid is not).
running_pid() {
  [[ -f $pid_file ]] || return 1
  local pid
  pid=$(<"$pid_file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
  printf '%s\n' "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

fetch_libs() {
  [[ -f $libs_stamp ]] && return 0
  say "fetching kafka_2.13:$KAFKA_VERSION and its runtime dependencies into $libs (once)"
  local work
  work=$(mktemp -d)
  sed "s/@KAFKA_VERSION@/$KAFKA_VERSION/" "$templates/pom.xml" >"$work/pom.xml"
  rm -rf "$libs.partial"
  mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs.partial" >&2 || {
    rm -rf "$work" "$libs.partial"
    die "mvn could not fetch the Kafka jars (is Maven Central reachable?)"
  }
  rm -rf "$work" "$libs"
  mv "$libs.partial" "$libs"
  touch "$libs_stamp"
}

render_config() {
  mkdir -p "$run" "$data" "$logs"
  sed -e "s|@HOST@|$host|g" -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$controller_port|g" \
    -e "s|@DATA_DIR@|$data|g" "$templates/server.properties" >"$config"
  cp "$templates/log4j.properties" "$log_config"
}

java_argv() {
  local -a heap
  read -r -a heap <<<"$heap_opts"
  argv=(java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    -Dkafka.logs.dir="$logs" -Dlog4j.configuration="file:$log_config" -cp "$libs/*" "$@")
}

java_cmd() {
  local -a argv
  java_argv "$@"
  "${argv[@]}"
}

format_storage_once() {
  [[ -f $data/meta.properties ]] && return 0
  local cluster_id
  if [[ -f $state/cluster-id ]]; then
    cluster_id=$(<"$state/cluster-id")
  else
    cluster_id=$(java_cmd kafka.tools.StorageTool random-uuid | tail -n 1)
    printf '%s\n' "$cluster_id" >"$state/cluster-id"
  fi
  say "formatting $data (cluster $cluster_id)"
  java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$config" -g >"$logs/format.log" 2>&1 ||
    die "storage format failed, see $logs/format.log"
}

# Ready = our process is alive, it has logged that the server finished starting (after the
# controller quorum and the broker registered), and the client port accepts connections.
wait_ready() {
  local pid=$1 deadline=$((SECONDS + start_timeout_s))
  while ((SECONDS < deadline)); do
    if [[ ! -d /proc/$pid ]]; then
      tail -n 30 "$logs/kafka.out" >&2 || true
      die "broker exited during start-up, see $logs/server.log and $logs/kafka.out"
    fi
    if grep -q 'Kafka Server started' "$logs/server.log" 2>/dev/null && port_open "$port"; then
      return 0
    fi
    sleep 0.5
  done
  die "broker not ready after ${start_timeout_s}s, see $logs/server.log"
}

start() {
  require_tools
  if pid=$(running_pid); then
    say "already running (pid $pid) on $host:$port"
    return 0
  fi
  if port_open "$port" || port_open "$controller_port"; then
    die "$host:$port or :$controller_port is taken by a process this script did not start"
  fi
  fetch_libs
  render_config
  format_storage_once
  # A fresh server.log per run, so readiness never matches a line from an earlier run.
  [[ -f $logs/server.log ]] && mv -f "$logs/server.log" "$logs/server.log.previous"
  # Own session (survives the caller's process group), without the lock descriptor.
  local -a argv
  java_argv kafka.Kafka "$config"
  setsid "${argv[@]}" </dev/null >"$logs/kafka.out" 2>&1 9>&- &
  local pid=$!
  printf '%s\n' "$pid" >"$pid_file"
  wait_ready "$pid"
  say "ready on $host:$port (pid $pid, logs in $logs)"
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pid_file"
    say "not running"
    return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + 60))
  while [[ -d /proc/$pid ]] && ((SECONDS < deadline)); do sleep 0.2; done
  if [[ -d /proc/$pid ]]; then
    say "pid $pid did not stop within 60s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while [[ -d /proc/$pid ]]; do sleep 0.2; done
  fi
  rm -f "$pid_file"
  say "stopped"
}

status() {
  local pid
  if pid=$(running_pid) && port_open "$port"; then
    say "running (pid $pid) on $host:$port"
    return 0
  fi
  say "not running"
  return 3
}

# One start/stop at a time: parallel test workers may all ask for a broker at once.
with_lock() {
  mkdir -p "$state"
  exec 9>"$state/.lock"
  flock 9
  "$@"
}

case ${1:-} in
start) with_lock start ;;
stop) with_lock stop ;;
status) status ;;
*)
  echo "usage: $0 start|stop|status" >&2
  exit 2
  ;;
esac
