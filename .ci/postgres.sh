#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for provkit-postgres' tests and benches.
#
#   eval "$(.ci/postgres.sh start)"      # prints: export PROVKIT_PG_URL=...; export PROVKIT_PG_DIR=...
#   trap '.ci/postgres.sh stop' EXIT     # stops the server in $PROVKIT_PG_DIR, removes the dir
#
# start: installs Debian's `postgresql` if no initdb is found (as root; the Debian service
#        is never started: a policy-rc.d denies it during the install), creates the
#        unprivileged system user `provkit-pg` when run as root (initdb refuses root),
#        runs initdb in a fresh temp dir, starts the server on 127.0.0.1 at a free port with
#        its unix socket inside the temp dir, creates the database `provkit` and prints the
#        two export lines on stdout (everything else goes to stderr).
#        Options: --no-install  fail (exit 3) instead of installing PostgreSQL;
#                 --watch-pid P stop and remove the cluster by itself once process P exits
#                               (the Rust test fixture uses this: a test binary has no exit hook).
#        Idempotent: if $PROVKIT_PG_DIR names a cluster this script started and that is still
#        running, start prints its export lines again and starts nothing.
# stop [DIR]: stops the cluster in DIR (default $PROVKIT_PG_DIR) and removes DIR. A no-op
#        when there is nothing to stop.
#
# Authentication is `trust`, and the server listens on 127.0.0.1 only: for tests on this
# machine, never for production.
set -euo pipefail

PG_USER=provkit-pg
DB_NAME=provkit

log() { printf 'postgres.sh: %s\n' "$*" >&2; }

find_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  fi
  # Debian keeps the server binaries out of PATH, one directory per major version.
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
    if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  d=$(command -v initdb 2>/dev/null || true)
  if [ -n "$d" ]; then dirname "$d"; return 0; fi
  return 1
}

install_postgres() {
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL is not installed and we are not root: run 'apt-get install -y postgresql' or set PROVKIT_PG_URL"
    exit 3
  fi
  log "installing Debian's postgresql package (the Debian service is not started)"
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=1
  fi
  local rc=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2 || rc=$?
  [ "$added_policy" -eq 1 ] && rm -f "$policy"
  if [ "$rc" -ne 0 ]; then
    log "apt-get install postgresql failed ($rc)"
    exit "$rc"
  fi
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

port_free() {
  # Nothing answers on the port (bash's /dev/tcp; a refused connect means free).
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

print_exports() {
  printf 'export PROVKIT_PG_URL=%q\n' "$1"
  printf 'export PROVKIT_PG_DIR=%q\n' "$2"
}

cmd_start() {
  local no_install=0 watch_pid=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --no-install) no_install=1 ;;
      --watch-pid) watch_pid="$2"; shift ;;
      *) log "unknown option $1"; exit 2 ;;
    esac
    shift
  done

  # Already running from an earlier start in this environment?
  if [ -n "${PROVKIT_PG_DIR:-}" ] && [ -f "$PROVKIT_PG_DIR/url" ] && [ -f "$PROVKIT_PG_DIR/data/postmaster.pid" ]; then
    local bindir
    bindir=$(cat "$PROVKIT_PG_DIR/bindir")
    if as_owner "$bindir/pg_ctl" -D "$PROVKIT_PG_DIR/data" status >/dev/null 2>&1; then
      log "cluster in $PROVKIT_PG_DIR is already running"
      print_exports "$(cat "$PROVKIT_PG_DIR/url")" "$PROVKIT_PG_DIR"
      return 0
    fi
  fi

  local bindir
  if ! bindir=$(find_bindir); then
    if [ "$no_install" -eq 1 ]; then
      log "PostgreSQL is not installed: run 'apt-get install -y postgresql' (Debian), or set PROVKIT_PG_URL to a database the tests may use"
      exit 3
    fi
    install_postgres
    bindir=$(find_bindir) || { log "initdb still not found after installing postgresql"; exit 3; }
  fi

  if [ "$(id -u)" -eq 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
    log "creating system user $PG_USER"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER" \
      || id "$PG_USER" >/dev/null 2>&1 # a parallel start may have created it
  fi

  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/provkit-pg.XXXXXX")
  chmod 700 "$dir"
  mkdir "$dir/sock"
  [ "$(id -u)" -eq 0 ] && chown -R "$PG_USER:" "$dir"
  echo "$bindir" >"$dir/bindir"

  # --no-sync: initdb's own files need no fsync for a throwaway cluster. The server keeps
  # its default durability (fsync on), so the latency figures are honest.
  as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    log "initdb failed"
    exit 1
  }

  local port="" try
  for try in $(seq 1 20); do
    local candidate=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    port_free "$candidate" || continue
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $candidate -k $dir/sock -c max_connections=200" \
        start >/dev/null 2>&1; then
      port=$candidate
      break
    fi
    log "start on port $candidate failed (try $try); retrying"
  done
  if [ -z "$port" ]; then
    tail -n 30 "$dir/server.log" >&2 || true
    rm -rf "$dir"
    log "could not start the server"
    exit 1
  fi

  "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB_NAME" >&2
  local url="postgres://postgres@127.0.0.1:$port/$DB_NAME"
  echo "$url" >"$dir/url"
  log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') running in $dir on 127.0.0.1:$port"

  if [ -n "$watch_pid" ]; then
    # Detached watchdog: stops the cluster when the watched process is gone.
    local self
    self=$(readlink -f "$0")
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec bash "$2" stop "$3"' \
      watchdog "$watch_pid" "$self" "$dir" </dev/null >/dev/null 2>&1 &
  fi
  print_exports "$url" "$dir"
}

cmd_stop() {
  local dir="${1:-${PROVKIT_PG_DIR:-}}"
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    return 0
  fi
  if [ ! -f "$dir/bindir" ]; then
    log "$dir is not a cluster started by this script; leaving it alone"
    return 1
  fi
  local bindir
  bindir=$(cat "$dir/bindir")
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 \
      || as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  log "stopped and removed $dir"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) echo "usage: $0 start [--no-install] [--watch-pid PID] | stop [DIR]" >&2; exit 2 ;;
esac
