#!/usr/bin/env bash
# benches/sessions.sh: the gateway's memory for many idle bound sessions.
#
#   customer (smsgate bench smpp --idle) -- N bound transceivers --> smsgate serve
#
# It builds the release binary once, starts `smsgate serve` on a free port
# of 127.0.0.1 with its data in a temporary directory and the connection
# limits raised above N, creates an account that may bind N sessions, and
# reads the gateway's memory (VmRSS, VmHWM of /proc/PID/status) before.
# Then `smsgate bench smpp --idle` binds BIND_CONCURRENCY sessions as a
# warm-up round (the memory is read again after it), then N transceivers,
# BIND_CONCURRENCY at a time, and holds them idle for HOLD (they answer the
# gateway's enquire_link, so they stay bound); halfway through the hold the
# memory is read again, and once more after they have closed. It prints one
# line: sessions bound, the RSS at each reading, the high-water mark
# (VmHWM), and the RSS per session in KiB over the warm-up reading.
# Everything it started is stopped on exit, however it exits.
#
# Usage: benches/sessions.sh
#
# Settings from the environment (defaults in brackets):
#
#   SESSIONS          idle sessions to bind [10000]
#   HOLD              how long they are held bound [60s]; the memory is
#                     read halfway through
#   BIND_CONCURRENCY  sessions connecting and binding at once [100]
#   SMPP_PORT         the gateway's SMPP port [a free one]
#   EXTRA_CONFIG      TOML appended to the gateway's configuration
#   KEEP=1            keep the temporary directory (config, logs, store)
#   NO_BUILD=1        use the binary as it is, without building
#   SMSGATE_BIN       the binary to use [target/release/smsgate]
#   BENCH_BIN         the binary whose `smsgate bench smpp` binds [SMSGATE_BIN]
set -euo pipefail

SESSIONS=${SESSIONS:-10000}
HOLD=${HOLD:-60s}
BIND_CONCURRENCY=${BIND_CONCURRENCY:-100}
EXTRA_CONFIG=${EXTRA_CONFIG:-}
HOST=127.0.0.1

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${SMSGATE_BIN:-$root/target/release/smsgate}
bench_bin=${BENCH_BIN:-$bin}

BENCH_NAME=sessions
# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"

# The hold in whole seconds (s, m and h suffixes; a bare number is seconds).
seconds_of() {
    local value=$1
    case "$value" in
        *h) echo $(( ${value%h} * 3600 )) ;;
        *m) echo $(( ${value%m} * 60 )) ;;
        *s) echo "${value%s}" ;;
        *) echo "$value" ;;
    esac
}
hold_s=$(seconds_of "$HOLD")
if [[ ! "$hold_s" =~ ^[0-9]+$ ]] || (( hold_s < 10 )); then
    log "HOLD must be whole seconds, minutes or hours, at least 10s (got $HOLD)"
    exit 2
fi

# --- file descriptors -----------------------------------------------------
# The gateway holds one per session and the bench one per session, each in
# its own process; both inherit this shell's limit. Room for the store,
# listeners, logs and the bench's runtime beside them.
need_fds=$(( SESSIONS + 1000 ))
hard=$(ulimit -Hn)
if [[ "$hard" != unlimited ]] && (( hard < need_fds )); then
    log "$SESSIONS sessions need $need_fds file descriptors per process; the hard limit is $hard"
    exit 1
fi
if [[ "$(ulimit -Sn)" != unlimited ]] && (( $(ulimit -Sn) < need_fds )); then
    ulimit -n "$need_fds"
fi

# --- build ----------------------------------------------------------------
build_release

work=$(mktemp -d "${TMPDIR:-/tmp}/smsgate-sessions.XXXXXX")
data="$work/data"
mkdir -p "$data"
[[ -n "${SMPP_PORT:-}" ]] && taken+=("$SMPP_PORT")
take_port SMPP_PORT

# --- the gateway ------------------------------------------------------------
# Every session comes from 127.0.0.1: the pre-bind budget (per address and
# in all) must hold the binds in flight, the connection limit all of them.
# Messages would go to the simulator connector, but none are sent.
cat >"$work/smsgate.toml" <<EOF
[smpp]
listen = ["$HOST:$SMPP_PORT"]
tls = false
max_connections = $(( SESSIONS + 100 ))
max_unbound = $(( BIND_CONCURRENCY * 2 + 100 ))
max_unbound_per_ip = $(( BIND_CONCURRENCY * 2 + 100 ))

[http]
listen = ["$HOST:0"]

[connectors.sim]
kind = "sim"

[[routes]]
name = "all"
connectors = ["sim"]

$EXTRA_CONFIG
EOF

add_bench_account --credits 1000 --max-binds "$SESSIONS"
start_gateway
log "gateway on $HOST:$SMPP_PORT (pid $serve_pid), data in $work"

# A field of the gateway's /proc/PID/status, in KiB.
status_kib() {
    awk -v key="$1:" '$1 == key { print $2 }' "/proc/$serve_pid/status"
}
# Let the gateway finish starting (connector binds, first store work).
sleep 2
rss_before=$(status_kib VmRSS)

# The gateway's open file descriptors: one per connection beside the
# ones it had before the sessions.
fds() { find "/proc/$serve_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# --- the sessions -------------------------------------------------------------
export SMSGATE_BENCH_PASSWORD=$password
# A warm-up round of BIND_CONCURRENCY sessions bound and unbound, so that
# what is paid once (the password hashing's memory in its worker threads,
# the runtime's first allocations) is in the baseline, not in the
# per-session figure.
"$bench_bin" bench smpp --host "$HOST:$SMPP_PORT" --system-id bench \
    --binds "$BIND_CONCURRENCY" --bind-concurrency "$BIND_CONCURRENCY" --idle 1s \
    --json >"$work/warmup.json" 2>"$work/warmup.log" || {
    log "the warm-up round failed: $(cat "$work/warmup.json" "$work/warmup.log")"
    exit 1
}
sleep 2
rss_warm=$(status_kib VmRSS)
fds_before=$(fds)
log "binding $SESSIONS sessions, $BIND_CONCURRENCY at a time, held for $HOLD"
status=0
"$bench_bin" bench smpp --host "$HOST:$SMPP_PORT" --system-id bench \
    --binds "$SESSIONS" --bind-concurrency "$BIND_CONCURRENCY" --idle "${hold_s}s" \
    --json >"$work/bench.json" 2>"$work/bench.log" &
bench_pid=$!
pids+=($bench_pid)

# Binding is done when the gateway has a connection per session, or their
# count has stopped growing (some binds failed), or the bench has ended.
last=-1
while kill -0 "$bench_pid" 2>/dev/null; do
    now=$(( $(fds) - fds_before ))
    if (( now >= SESSIONS || (now == last && now > 0) )); then
        break
    fi
    last=$now
    sleep 3
done
# Then halfway through the hold (the hold starts once the last bind is
# answered; the reading must fall inside it).
sleep $(( hold_s / 2 ))
rss_with=$(status_kib VmRSS)
connections=$(( $(fds) - fds_before ))

wait "$bench_pid" || status=$?
pids=("${pids[@]:0:${#pids[@]}-1}")
sleep 2
rss_after=$(status_kib VmRSS)
hwm=$(status_kib VmHWM)
report=$(cat "$work/bench.json")
if [[ -z "$report" ]]; then
    log "bench printed no report; its log:"
    cat "$work/bench.log" >&2
    exit 1
fi

python3 - "$report" "$SESSIONS" "$connections" "$rss_before" "$rss_warm" "$rss_with" "$rss_after" "$hwm" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
asked, connections, before, warm, with_, after, hwm = (int(v) for v in sys.argv[2:])
bound = r["bound"]
per = f"{(with_ - warm) / bound:.1f}" if bound else "-"
failure = f' (first failure: {r["first_failure"]})' if r["first_failure"] else ""
mib = lambda kib: f"{kib / 1024:.1f} MiB"
print(f'{bound} of {asked} sessions bound in {r["bind_s"]:.1f} s, {r["failed"]} failed, '
      f'{r["sessions_lost"]} lost while held {r["idle_s"]:.0f} s{failure}; '
      f'gateway VmRSS {mib(before)} before, {mib(warm)} after a warm-up round, '
      f'{mib(with_)} with {connections} connections, {mib(after)} after they closed, '
      f'VmHWM {mib(hwm)}; {per} KiB per session (over the warm-up figure); '
      f'{"within" if with_ * 1024 <= 500e6 else "over"} the 500 MB target')
PY
if (( status != 0 )); then
    log "not every session bound and stayed bound (bench exit $status); its log: $work/bench.log"
    [[ "${KEEP:-}" == 1 ]] || tail -5 "$work/bench.log" >&2
fi
exit "$status"
