#!/usr/bin/env bash
# benches/http.sh: the customer HTTP API under load, on one machine.
#
#   customer (smsgate bench http) -> smsgate serve (HTTP API) -> smpp
#     connector -> smsgate sim (answers and sends each receipt at once)
#     -> receipts back through the gateway -> status callbacks to the bench
#
# It builds the release binary once, starts `smsgate sim` and
# `smsgate serve` on free ports of 127.0.0.1 with their data in a temporary
# directory, creates a customer account and an API key, runs
# `smsgate bench http --json` once per configuration and prints one result
# line for each. With KANNEL=1 it then stops the gateway and runs the same
# load against Kannel (Debian's `kannel`: bearerbox and smsbox, an SMPP smsc
# bound to a simulator like the gateway's, sendsms loaded by `smsgate bench
# http --api kannel`), one "kannel" line per configuration of single
# messages.
# Everything it started is stopped on exit, however it exits.
#
# Usage: benches/http.sh [CONFIG ...]
#
# A CONFIG is CONNECTIONSxBATCH, optionally followed by a colon and more
# `smsgate bench http` options, e.g.
#
#   benches/http.sh 50x1 50x100 "50x1:--callbacks" "10x1:--rate 500"
#
# BATCH 1 posts single messages to /api/v1/messages, more posts batches to
# /api/v1/messages/batch. With no CONFIG it runs 50x1, 50x100 and
# 50x1:--callbacks. Settings from the environment (defaults in brackets):
#
#   COUNT            messages per configuration [20000]
#   CONNECTOR_BINDS  binds of the gateway's smpp connector (and of Kannel's
#                    smsc) to the sim [4]
#   CONNECTOR_WINDOW the connector's window per bind (Kannel's
#                    max-pending-submits) [100]
#   HTTP_PORT        the gateway's HTTP port [a free one]
#   SMPP_PORT        the gateway's SMPP port [a free one]
#   SIM_PORT         the simulator's port [a free one]
#   CALLBACK_WAIT    how long bench waits for callbacks after the last answer [60s]
#   EXTRA_CONFIG     TOML appended to the gateway's configuration, e.g.
#                    $'[dispatch]\nconcurrency = 1024'
#   KANNEL=1         also run the configurations of single messages against
#                    Kannel (installed with apt-get if bearerbox is missing
#                    and we are root or `sudo -n` works), with a simulator
#                    of its own
#   KANNEL_RECEIPT_DELAY the Kannel simulator's receipt delay: Kannel drops
#                    a receipt that comes before its submit_sm_resp [10ms]
#   RESULTS          also append each run's JSON report to this file
#   KEEP=1           keep the temporary directory (configs, logs, store)
#   NO_BUILD=1       use the binary as it is, without building
#   SMSGATE_BIN      the binary to use [target/release/smsgate]
#   BENCH_BIN        the binary whose `smsgate bench http` loads it [SMSGATE_BIN],
#                    to compare gateways older than the bench
set -euo pipefail

COUNT=${COUNT:-20000}
CONNECTOR_BINDS=${CONNECTOR_BINDS:-4}
CONNECTOR_WINDOW=${CONNECTOR_WINDOW:-100}
CALLBACK_WAIT=${CALLBACK_WAIT:-60s}
EXTRA_CONFIG=${EXTRA_CONFIG:-}
RESULTS=${RESULTS:-}
KANNEL=${KANNEL:-}
KANNEL_RECEIPT_DELAY=${KANNEL_RECEIPT_DELAY:-10ms}
HOST=127.0.0.1

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${SMSGATE_BIN:-$root/target/release/smsgate}
bench_bin=${BENCH_BIN:-$bin}

BENCH_NAME=http
# shellcheck source=benches/lib.sh
source "$root/benches/lib.sh"

# --- build ----------------------------------------------------------------
build_release

work=$(mktemp -d "${TMPDIR:-/tmp}/smsgate-http.XXXXXX")
data="$work/data"
mkdir -p "$data"
# Ports given in the environment are taken as they are, and never handed
# out as free ones.
for port in HTTP_PORT SMPP_PORT SIM_PORT; do
    [[ -n "${!port:-}" ]] && taken+=("${!port}")
done
take_port HTTP_PORT
take_port SMPP_PORT
take_port SIM_PORT

# --- the simulator: answers at once, receipts at once -----------------------
"$bin" sim --listen "$HOST:$SIM_PORT" --latency 0s --receipt-delay 0s \
    --max-window "$CONNECTOR_WINDOW" >"$work/sim.log" 2>&1 &
pids+=($!)
wait_for_port "$SIM_PORT" "${pids[-1]}" sim

# --- the gateway ------------------------------------------------------------
# Callbacks go to the bench's listener on 127.0.0.1, which the gateway
# refuses unless it is allowed.
cat >"$work/smsgate.toml" <<EOF
[smpp]
listen = ["$HOST:$SMPP_PORT"]
tls = false

[http]
listen = ["$HOST:$HTTP_PORT"]
callback_allow = ["127.0.0.1/32"]

[connectors.sim]
kind = "smpp"
system_id = "gateway"
password = "gateway"
hosts = [{ address = "$HOST:$SIM_PORT", binds = $CONNECTOR_BINDS }]
window = $CONNECTOR_WINDOW

[[routes]]
name = "all"
connectors = ["sim"]

$EXTRA_CONFIG
EOF

configs=("$@")
if [[ ${#configs[@]} -eq 0 ]]; then
    configs=(50x1 50x100 "50x1:--callbacks")
fi

# The customer: credits for every run, no TPS limit; an API key for it.
password="bench-$RANDOM$RANDOM"
credits=$(( COUNT * ${#configs[@]} + 1000 ))
echo "$password" | "$bin" --data-dir "$data" account add bench --password-stdin \
    --credits "$credits" >/dev/null
key=$("$bin" --data-dir "$data" account api-key create bench | grep -o 'sgk_[0-9a-zA-Z_]*' | head -1)
[[ -n "$key" ]] || { log "no API key was printed"; exit 1; }

"$bin" --data-dir "$data" serve --no-demo --config "$work/smsgate.toml" \
    >"$work/serve.log" 2>&1 &
pids+=($!)
wait_for_port "$HTTP_PORT" "${pids[-1]}" serve
log "gateway on http://$HOST:$HTTP_PORT, simulator on $HOST:$SIM_PORT, data in $work"

# --- the runs ---------------------------------------------------------------
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
statuses = ",".join(f"{k}={v}" for k, v in sorted(r["answers_by_status"].items()))
refused = ",".join(f"{k}={v}" for k, v in sorted(r["refused_by_code"].items()))
errors = ",".join(f"{k}={v}" for k, v in sorted(r["errors"].items()) if v)
line = (f'{label}: {r["accepted"]}/{r["messages"]} accepted [{statuses}] '
        f'{rate("request_rate")} req/s, {rate("accept_rate")} msgs/s; '
        f'answer p50/p99/max {ms("answer_ms")} ms')
if r["callbacks_requested"]:
    line += (f'; callbacks {r["callbacks"]}/{r["callbacks_expected"]} at '
             f'{rate("callback_rate")}/s, end-to-end {rate("end_to_end_rate")}/s, '
             f'callback p50/p99/max {ms("callback_ms")} ms')
if refused:
    line += f'; refused {refused}'
if errors:
    line += f'; errors {errors}'
if r["connections_reopened"]:
    line += f'; {r["connections_reopened"]} connection(s) reopened'
print(f'{line}; {r["elapsed_s"]:.1f} s')
PY
    else
        echo "$label: $json"
    fi
}

# Runs one configuration: bench http against $1 (smsgate or kannel) at
# URL $2 with the credentials in the remaining options.
run_config() {
    local api=$1 url=$2 config=$3 shape extra connections batch json label
    shift 3
    shape=${config%%:*}
    extra=""
    [[ "$config" == *:* ]] && extra=${config#*:}
    connections=${shape%x*}
    batch=${shape#*x}
    # shellcheck disable=SC2086 # the extra options are split on purpose
    json=$("$bench_bin" bench http --api "$api" --url "$url" "$@" \
        --connections "$connections" --batch "$batch" --count "$COUNT" \
        --callback-wait "$CALLBACK_WAIT" --json $extra)
    [[ -n "$RESULTS" ]] && echo "$json" >>"$RESULTS"
    label="$connections x $batch${extra:+ $extra}, $COUNT messages"
    [[ "$api" == kannel ]] && label="kannel $label (receipts after $KANNEL_RECEIPT_DELAY)"
    summary "$label" "$json"
}

for config in "${configs[@]}"; do
    if [[ ! "${config%%:*}" =~ ^[0-9]+x[0-9]+$ ]]; then
        log "configuration $config is not CONNECTIONSxBATCH[:OPTIONS]"
        exit 2
    fi
done
for config in "${configs[@]}"; do
    SMSGATE_API_KEY=$key run_config smsgate "http://$HOST:$HTTP_PORT" "$config"
done

# --- Kannel -------------------------------------------------------------------
[[ "$KANNEL" == 1 ]] || exit 0

# Installs Debian's kannel if bearerbox is missing and we may; whether it
# is there now.
have_kannel() {
    command -v bearerbox >/dev/null && command -v smsbox >/dev/null && return 0
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo -n true 2>/dev/null || return 1
        sudo=(sudo -n)
    fi
    log "installing Debian's kannel"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y kannel >"$work/apt.log" 2>&1 \
        || { log "apt-get install kannel failed; see $work/apt.log"; return 1; }
    command -v bearerbox >/dev/null && command -v smsbox >/dev/null
}
if ! have_kannel; then
    echo "kannel: missing (no bearerbox, and no root or passwordless sudo to install Debian's kannel)"
    exit 0
fi

# The machine to Kannel alone: the gateway and its simulator go first.
for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    stop_pid "${pids[i]}"
done
pids=()

# Kannel's own simulator, the same but for the receipts: they come
# $KANNEL_RECEIPT_DELAY after the answer. The simulator writes answers and
# receipts through separate queues, so a receipt sent at once can reach the
# wire before its submit_sm_resp; the gateway keeps such a receipt until
# the answer names its id, Kannel drops it ("DLR ... not found"), which at
# full speed is most of them.
KANNEL_SIM_PORT=""
take_port KANNEL_SIM_PORT
"$bin" sim --listen "$HOST:$KANNEL_SIM_PORT" --latency 0s --receipt-delay "$KANNEL_RECEIPT_DELAY" \
    --max-window "$CONNECTOR_WINDOW" >"$work/kannel-sim.log" 2>&1 &
pids+=($!)
wait_for_port "$KANNEL_SIM_PORT" "${pids[-1]}" kannel-sim

KANNEL_ADMIN_PORT=""
take_port KANNEL_ADMIN_PORT
KANNEL_BOX_PORT=""
take_port KANNEL_BOX_PORT
KANNEL_HTTP_PORT=""
take_port KANNEL_HTTP_PORT
kannel_password="kannel-$RANDOM$RANDOM"
# One smsc group per bind, all with the same smsc-id: Kannel spreads the
# messages over them, as the gateway does over its connector's binds. Each
# binds with a system_id of its own, so that the simulator sends each
# receipt on the bind its message went on (it picks any bind of the
# submitter's system_id): a receipt that comes on another bind before that
# bind's submit_sm_resp has been read is dropped too.
{
    cat <<EOF
group = core
admin-port = $KANNEL_ADMIN_PORT
admin-password = "$kannel_password"
status-password = "$kannel_password"
admin-allow-ip = "127.0.0.1"
smsbox-port = $KANNEL_BOX_PORT
box-allow-ip = "127.0.0.1"
dlr-storage = internal
log-file = "$work/bearerbox-kannel.log"
log-level = 1
access-log = "$work/access.log"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $KANNEL_BOX_PORT
sendsms-port = $KANNEL_HTTP_PORT
log-file = "$work/smsbox-kannel.log"
log-level = 1

group = sendsms-user
username = bench
password = "$kannel_password"
user-allow-ip = "127.0.0.1"

group = sms-service
keyword = default
text = "no service"
max-messages = 0
EOF
    for bind in $(seq "$CONNECTOR_BINDS"); do
        cat <<EOF

group = smsc
smsc = smpp
smsc-id = sim
host = $HOST
port = $KANNEL_SIM_PORT
transceiver-mode = true
smsc-username = kannel$bind
smsc-password = kannel
system-type = ""
max-pending-submits = $CONNECTOR_WINDOW
EOF
    done
} >"$work/kannel.conf"

# Both in the foreground (their default), as our children.
bearerbox "$work/kannel.conf" >"$work/bearerbox.log" 2>&1 &
pids+=($!)
wait_for_port "$KANNEL_BOX_PORT" "${pids[-1]}" bearerbox
smsbox "$work/kannel.conf" >"$work/smsbox.log" 2>&1 &
pids+=($!)
wait_for_port "$KANNEL_HTTP_PORT" "${pids[-1]}" smsbox
# Bound once the simulator has logged every bind.
for _ in $(seq 300); do
    [[ $(grep -c 'system_id=kannel[0-9]' "$work/kannel-sim.log" || true) -ge "$CONNECTOR_BINDS" ]] && break
    sleep 0.1
done
log "kannel: bearerbox on $HOST:$KANNEL_BOX_PORT, sendsms on http://$HOST:$KANNEL_HTTP_PORT"

ran=0
for config in "${configs[@]}"; do
    shape=${config%%:*}
    if [[ "${shape#*x}" != 1 ]]; then
        continue # sendsms takes one message per request
    fi
    SMSGATE_BENCH_PASSWORD=$kannel_password run_config kannel "http://$HOST:$KANNEL_HTTP_PORT" \
        "$config" --user bench
    ran=$((ran + 1))
done
[[ $ran -gt 0 ]] || echo "kannel: no configuration of single messages (CONNECTIONSx1) to run"
