#!/usr/bin/env bash
# benches/soak.sh: the gateway's memory over a long run at a steady rate.
#
#   customer (smsgate bench smpp --duration --rate) -> smsgate serve
#     -> smpp connector -> smsgate sim (answers and sends each receipt at once)
#     -> receipts back through the gateway to the customer
#
# It builds the release binary once, starts `smsgate sim` and
# `smsgate serve` on free ports of 127.0.0.1 with their data in a temporary
# directory (as benches/pipeline.sh does), creates a customer account and
# runs `smsgate bench smpp --duration DURATION --rate RATE` with registered
# delivery. Every INTERVAL it appends the gateway's VmRSS (from
# /proc/PID/status) to a log, and at the end prints the bench's result line
# and one memory line: the first sample after WARMUP, the last, the
# largest, and the growth from the first to the last in % (the target is
# within 10%). Everything it started is stopped on exit, however it exits.
#
# Usage: benches/soak.sh
#
# Settings from the environment (defaults in brackets):
#
#   DURATION         how long the bench sends [10m]
#   RATE             submit_sm per second over all binds [5000]
#   BINDS, WINDOW    the customer's binds and window per bind [4, 100]
#   INTERVAL         seconds between memory samples [30]
#   WARMUP           seconds before the first sample that counts [60]
#   CONNECTOR_BINDS  binds of the gateway's smpp connector to the sim [4]
#   CONNECTOR_WINDOW the connector's window per bind [100]
#   SMPP_PORT        the gateway's SMPP port [a free one]
#   SIM_PORT         the simulator's port [a free one]
#   EXTRA_CONFIG     TOML appended to the gateway's configuration
#   RSS_LOG          also copy the samples to this file
#   KEEP=1           keep the temporary directory (configs, logs, store)
#   NO_BUILD=1       use the binary as it is, without building
#   SMSGATE_BIN      the binary to use [target/release/smsgate]
#   BENCH_BIN        the binary whose `smsgate bench smpp` loads it [SMSGATE_BIN]
set -euo pipefail

DURATION=${DURATION:-10m}
RATE=${RATE:-5000}
BINDS=${BINDS:-4}
WINDOW=${WINDOW:-100}
INTERVAL=${INTERVAL:-30}
WARMUP=${WARMUP:-60}
CONNECTOR_BINDS=${CONNECTOR_BINDS:-4}
CONNECTOR_WINDOW=${CONNECTOR_WINDOW:-100}
EXTRA_CONFIG=${EXTRA_CONFIG:-}
RSS_LOG=${RSS_LOG:-}
HOST=127.0.0.1

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${SMSGATE_BIN:-$root/target/release/smsgate}
bench_bin=${BENCH_BIN:-$bin}

BENCH_NAME=soak
# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"

# A duration in whole seconds (s, m and h suffixes; a bare number is seconds).
seconds_of() {
    local value=$1
    case "$value" in
        *h) echo $(( ${value%h} * 3600 )) ;;
        *m) echo $(( ${value%m} * 60 )) ;;
        *s) echo "${value%s}" ;;
        *) echo "$value" ;;
    esac
}
duration_s=$(seconds_of "$DURATION")
if [[ ! "$duration_s" =~ ^[0-9]+$ ]] || (( duration_s <= WARMUP )); then
    log "DURATION must be whole seconds, minutes or hours, longer than WARMUP (${WARMUP}s) (got $DURATION)"
    exit 2
fi

# --- build ----------------------------------------------------------------
build_release

work=$(mktemp -d "${TMPDIR:-/tmp}/smsgate-soak.XXXXXX")
data="$work/data"
mkdir -p "$data"
for port in SMPP_PORT SIM_PORT; do
    [[ -n "${!port:-}" ]] && taken+=("${!port}")
done
take_port SMPP_PORT
take_port SIM_PORT

# --- the simulator: answers at once, receipts at once -----------------------
start_sim --max-window "$CONNECTOR_WINDOW"

# --- the gateway ------------------------------------------------------------
write_sim_route_config soak

# The customer: credits for the whole run and then some, a window above
# the bench's, no TPS limit.
credits=$(( RATE * duration_s * 2 + 1000 ))
add_bench_account --credits "$credits" --window 1000 --max-binds 64
start_gateway
log "gateway on $HOST:$SMPP_PORT (pid $serve_pid), simulator on $HOST:$SIM_PORT, data in $work"

# The gateway's VmRSS in KiB.
rss_kib() {
    awk '$1 == "VmRSS:" { print $2 }' "/proc/$serve_pid/status"
}

# --- the run ------------------------------------------------------------------
export SMSGATE_BENCH_PASSWORD=$password
samples="$work/rss.log"
echo "# seconds since the bench started, gateway VmRSS in KiB" >"$samples"
log "sending $RATE/s for $DURATION on $BINDS x $WINDOW, VmRSS every ${INTERVAL}s to $samples"
"$bench_bin" bench smpp --host "$HOST:$SMPP_PORT" --system-id bench \
    --binds "$BINDS" --window "$WINDOW" --duration "${duration_s}s" --rate "$RATE" \
    --json >"$work/bench.json" 2>"$work/bench.log" &
bench_pid=$!
pids+=($bench_pid)

start=$SECONDS
next=$INTERVAL
while kill -0 "$bench_pid" 2>/dev/null; do
    elapsed=$(( SECONDS - start ))
    if (( elapsed >= next && elapsed <= duration_s )); then
        echo "$elapsed $(rss_kib)" >>"$samples"
        next=$(( next + INTERVAL ))
    fi
    sleep 1
done
status=0
wait "$bench_pid" || status=$?
pids=("${pids[@]:0:${#pids[@]}-1}")
[[ -n "$RSS_LOG" ]] && cp "$samples" "$RSS_LOG"
json=$(cat "$work/bench.json")
if (( status != 0 )) || [[ -z "$json" ]]; then
    log "bench failed (exit $status); its log:"
    cat "$work/bench.log" >&2
    exit 1
fi

python3 - "$json" "$samples" "$WARMUP" "$RATE" "$DURATION" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
path, warmup, rate, duration = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
statuses = ",".join(f"{k}={v}" for k, v in sorted(r["acked_by_status"].items()))
def ms(key):
    p = r[key]
    return "-" if p["p50"] is None else f'{p["p50"]:.1f}/{p["p99"]:.1f}/{p["max"]:.1f}'
def rate_of(key):
    return "-" if r[key] is None else f"{r[key]:.0f}"
print(f'{rate}/s for {duration}: submitted {r["submitted"]} [{statuses}] '
      f'submit {rate_of("submit_rate")}/s, receipts {r["receipts"]}/{r["receipts_expected"]}; '
      f'resp p50/p99/max {ms("submit_resp_ms")} ms, receipt {ms("receipt_ms")} ms; '
      f'{r["elapsed_s"]:.1f} s')
samples = []
with open(path) as f:
    for line in f:
        if not line.startswith("#"):
            t, kib = line.split()
            samples.append((int(t), int(kib)))
counted = [(t, kib) for t, kib in samples if t >= warmup]
if len(counted) < 2:
    print(f"memory: too few samples after the {warmup} s warm-up ({len(samples)} in all)")
    sys.exit(1)
mib = lambda kib: f"{kib / 1024:.1f} MiB"
(t0, first), (t1, last) = counted[0], counted[-1]
top_t, top = max(counted, key=lambda s: s[1])
growth = (last - first) / first * 100
verdict = "within" if abs(growth) <= 10 else "beyond"
print(f"gateway VmRSS: first {mib(first)} at {t0} s, last {mib(last)} at {t1} s, "
      f"max {mib(top)} at {top_t} s; growth {growth:+.1f}% ({verdict} 10%), "
      f"{len(counted)} samples after the {warmup} s warm-up")
PY
