#!/usr/bin/env bash
# benches/pipeline.sh: the whole message pipeline under load, on one machine.
#
#   customer (smsgate bench smpp) -> smsgate serve -> smpp connector
#     -> smsgate sim (answers and sends each receipt at once)
#     -> receipts back through the gateway to the customer
#
# It builds the release binary once, starts `smsgate sim` and
# `smsgate serve` on free ports of 127.0.0.1 with their data in a temporary
# directory, creates a customer account, runs `smsgate bench smpp --json`
# once per configuration and prints one result line for each. Everything it
# started is stopped on exit, however it exits. Each line ends with the
# gateway's CPU time over the run and per message, which the machine's
# noise moves much less than the rates.
#
# Usage: benches/pipeline.sh [CONFIG ...]
#
# A CONFIG is BINDSxWINDOW, optionally followed by a colon and more
# `smsgate bench smpp` options, e.g.
#
#   benches/pipeline.sh 4x100 8x50 "4x100:--no-receipts" "2x100:--text long"
#
# With no CONFIG it runs one: ${BINDS}x${WINDOW}, registered delivery,
# ${COUNT} messages. Settings from the environment (defaults in brackets):
#
#   COUNT            messages per configuration [100000]
#   BINDS, WINDOW    the default configuration's binds and window [4, 100]
#   RECEIPT_WINDOW   the simulator's unanswered deliver_sm per bind; 0 is no
#                    limit [the connector's window]
#   CONNECTOR_BINDS  binds of the gateway's smpp connector to the sim [4]
#   CONNECTOR_WINDOW the connector's window per bind [100]
#   INBOUND_WINDOW   the connector's inbound_window (receipts held unanswered
#                    while stored) [the gateway's default]
#   SMPP_PORT        the gateway's SMPP port [a free one]
#   SIM_PORT         the simulator's port [a free one]
#   RECEIPT_WAIT     how long bench waits for receipts after the last submit [60s]
#   EXTRA_CONFIG     TOML appended to the gateway's configuration, e.g.
#                    $'[dispatch]\nconcurrency = 1024'
#   RESULTS          also append each run's JSON report to this file
#   KEEP=1           keep the temporary directory (configs, logs, store)
#   NO_BUILD=1       use the binary as it is, without building
#   SMSGATE_BIN      the binary to use [target/release/smsgate]
#   BENCH_BIN        the binary whose `smsgate bench smpp` loads it [SMSGATE_BIN],
#                    to compare gateways older than the bench
set -euo pipefail

COUNT=${COUNT:-100000}
BINDS=${BINDS:-4}
WINDOW=${WINDOW:-100}
CONNECTOR_BINDS=${CONNECTOR_BINDS:-4}
CONNECTOR_WINDOW=${CONNECTOR_WINDOW:-100}
RECEIPT_WINDOW=${RECEIPT_WINDOW:-}
INBOUND_WINDOW=${INBOUND_WINDOW:-}
RECEIPT_WAIT=${RECEIPT_WAIT:-60s}
EXTRA_CONFIG=${EXTRA_CONFIG:-}
RESULTS=${RESULTS:-}
HOST=127.0.0.1

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${SMSGATE_BIN:-$root/target/release/smsgate}
bench_bin=${BENCH_BIN:-$bin}

BENCH_NAME=pipeline
# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"

# --- build ----------------------------------------------------------------
build_release

work=$(mktemp -d "${TMPDIR:-/tmp}/smsgate-pipeline.XXXXXX")
data="$work/data"
mkdir -p "$data"
for port in SMPP_PORT SIM_PORT; do
    [[ -n "${!port:-}" ]] && taken+=("${!port}")
done
take_port SMPP_PORT
take_port SIM_PORT

# --- the simulator: answers at once, receipts at once -----------------------
sim_args=(--max-window "$CONNECTOR_WINDOW")
if [[ -n "$RECEIPT_WINDOW" ]]; then
    sim_args+=(--receipt-window "$RECEIPT_WINDOW")
fi
start_sim "${sim_args[@]}"

# --- the gateway ------------------------------------------------------------
inbound=""
if [[ -n "$INBOUND_WINDOW" ]]; then
    inbound="inbound_window = $INBOUND_WINDOW"
fi
write_sim_route_config pipeline "$inbound"

# The customer: credits for every run, a window and binds above any
# configuration's, no TPS limit.
runs=$(( $# > 0 ? $# : 1 ))
credits=$(( COUNT * 3 * runs + 1000 ))
add_bench_account --credits "$credits" --window 1000 --max-binds 64
start_gateway
log "gateway on $HOST:$SMPP_PORT, simulator on $HOST:$SIM_PORT, data in $work"

# --- the runs ---------------------------------------------------------------
# The gateway's CPU time so far (user + system), in clock ticks: the cost
# per message, which the machine's noise moves much less than the rate.
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$serve_pid/stat" 2>/dev/null) || { echo 0; return; }
    stat=${stat##*) }
    # Fields after the command: state is 3rd, utime 14th, stime 15th.
    read -r -a fields <<<"$stat"
    echo $(( fields[11] + fields[12] ))
}
tick_hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
# One line from a JSON report (python3 if there is one, else the JSON).
summary() {
    local label=$1 json=$2
    if command -v python3 >/dev/null; then
        python3 - "$label" "$json" <<'PY'
import json, sys
label, r = sys.argv[1], json.loads(sys.argv[2])
def ms(key):
    p = r[key]
    if p["p50"] is None:
        return "-"
    return f'{p["p50"]:.1f}/{p["p99"]:.1f}/{p["max"]:.1f}'
def rate(key):
    return "-" if r[key] is None else f"{r[key]:.0f}"
statuses = ",".join(f"{k}={v}" for k, v in sorted(r["acked_by_status"].items()))
print(f'{label}: submitted {r["submitted"]} [{statuses}] '
      f'submit {rate("submit_rate")}/s, receipts {r["receipts"]}/{r["receipts_expected"]} '
      f'at {rate("receipt_rate")}/s, end-to-end {rate("end_to_end_rate")}/s; '
      f'resp p50/p99/max {ms("submit_resp_ms")} ms, receipt {ms("receipt_ms")} ms; '
      f'{r["elapsed_s"]:.1f} s')
PY
    else
        echo "$label: $json"
    fi
}

configs=("$@")
if [[ ${#configs[@]} -eq 0 ]]; then
    configs=("${BINDS}x${WINDOW}")
fi
export SMSGATE_BENCH_PASSWORD=$password
for config in "${configs[@]}"; do
    shape=${config%%:*}
    extra=""
    [[ "$config" == *:* ]] && extra=${config#*:}
    if [[ ! "$shape" =~ ^([0-9]+)x([0-9]+)$ ]]; then
        log "configuration $config is not BINDSxWINDOW[:OPTIONS]"
        exit 2
    fi
    binds=${BASH_REMATCH[1]}
    window=${BASH_REMATCH[2]}
    # shellcheck disable=SC2086 # the extra options are split on purpose
    before=$(cpu_ticks)
    json=$("$bench_bin" bench smpp --host "$HOST:$SMPP_PORT" --system-id bench \
        --binds "$binds" --window "$window" --count "$COUNT" \
        --receipt-wait "$RECEIPT_WAIT" --json $extra)
    [[ -n "$RESULTS" ]] && echo "$json" >>"$RESULTS"
    ticks=$(( $(cpu_ticks) - before ))
    line=$(summary "$binds x $window ${extra:-registered delivery}, $COUNT messages" "$json")
    # Gateway CPU over the run, and per message (microseconds).
    echo "$line; gateway CPU $(( ticks / tick_hz )).$(( (ticks % tick_hz) * 100 / tick_hz )) s, $(( ticks * 1000000 / tick_hz / COUNT )) us/msg"
done
