#!/usr/bin/env bash
# PostgreSQL and Redis: used when running, started from Debian's packages when installed but
# stopped, and named clearly when missing (this script never installs a database by itself).
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_ready() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! pg_ready && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n1)" main start || true
fi
if ! redis_ready && command -v redis-server >/dev/null; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
fi
pg_ready || { echo "PostgreSQL is not reachable on 127.0.0.1:5432 (apt-get install postgresql; trust auth for user postgres)"; exit 1; }
redis_ready || { echo "Redis is not reachable on 127.0.0.1:6379 (apt-get install redis-server)"; exit 1; }
