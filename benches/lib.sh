# benches/lib.sh: what the scripts under benches/ share. Sourced, not run:
# set BENCH_NAME (the prefix of log lines) and HOST first.
#
# It gives: `pids` (append what you start; it is stopped on exit, the last
# started first) and `work` (the temporary directory, removed on exit unless
# KEEP=1), `log`, `stop_pid PID`, `listening PORT`, `take_port VAR` (sets
# VAR, unless the environment set it, to a port of $HOST nothing listens on
# and no earlier take_port handed out) and `wait_for_port PORT PID NAME`
# (NAME's log is $work/NAME.log), `build_release` (builds $root's release
# binary unless NO_BUILD=1, and checks that $bin is there); and, with $bin,
# $work and $data set, `start_sim ARGS` (the simulator on $HOST:$SIM_PORT,
# answering and sending receipts at once), `write_sim_route_config NAME
# [LINES]` ($work/smsgate.toml: SMPP on $HOST:$SMPP_PORT, one smpp connector
# `sim` to the simulator, one route to it, $EXTRA_CONFIG), `add_bench_account
# ARGS` (the account `bench`, its password in $password) and `start_gateway`
# (serve with $work/smsgate.toml; its pid in $serve_pid).

pids=()
work=""
taken=()

log() { echo "$BENCH_NAME: $*" >&2; }

# Stops process $1: TERM, 10 s to go, then KILL.
stop_pid() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Stops what was started, the last first (so that nothing logs the going
# of what it is bound to as a failure), and removes the temporary directory.
cleanup() {
    local status=$? i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        stop_pid "${pids[i]}"
    done
    if [[ -n "$work" ]]; then
        if [[ "${KEEP:-}" == 1 ]]; then
            log "kept $work"
        else
            rm -rf "$work"
        fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Whether something accepts connections on $HOST:$1.
listening() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Sets the variable named $1, unless it is set already, to a free port of
# $HOST from the high range that no earlier call handed out. (A variable,
# not output: the ports handed out are remembered in this shell.)
take_port() {
    local name=$1 port
    if [[ -n "${!name:-}" ]]; then
        taken+=("${!name}")
        return
    fi
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 40000))
        if ! listening "$port" && [[ " ${taken[*]} " != *" $port "* ]]; then
            taken+=("$port")
            printf -v "$name" '%s' "$port"
            return
        fi
    done
    log "no free port found"
    exit 1
}

# Waits until $HOST:$1 accepts connections, while process $2 lives.
wait_for_port() {
    local port=$1 pid=$2 name=$3
    for _ in $(seq 600); do
        if listening "$port"; then
            return
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$name exited before listening on $port; its log:"
            cat "$work/$name.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    log "$name is not listening on $port after 60 s"
    exit 1
}

# Builds the release binary once (unless NO_BUILD=1); $bin must then exist.
build_release() {
    if [[ "${NO_BUILD:-}" != 1 ]]; then
        log "building the release binary"
        (cd "$root" && cargo build --release -p smsgate)
    fi
    [[ -x "$bin" ]] || { log "$bin not found (build it, or unset NO_BUILD)"; exit 1; }
}

# Starts `smsgate sim` on $HOST:$SIM_PORT, answering and sending each
# receipt at once, with "$@" added; waits until it listens.
start_sim() {
    "$bin" sim --listen "$HOST:$SIM_PORT" --latency 0s --receipt-delay 0s "$@" \
        >"$work/sim.log" 2>&1 &
    pids+=($!)
    wait_for_port "$SIM_PORT" "${pids[-1]}" sim
}

# Writes $work/smsgate.toml: SMPP on $HOST:$SMPP_PORT (no TLS), HTTP on any
# port, the smpp connector `sim` (system_id $1, $CONNECTOR_BINDS binds,
# window $CONNECTOR_WINDOW, the lines $2) to the simulator on
# $HOST:$SIM_PORT, one route to it, then $EXTRA_CONFIG.
write_sim_route_config() {
    cat >"$work/smsgate.toml" <<EOF
[smpp]
listen = ["$HOST:$SMPP_PORT"]
tls = false

[http]
listen = ["$HOST:0"]

[connectors.sim]
kind = "smpp"
system_id = "$1"
password = "$1"
hosts = [{ address = "$HOST:$SIM_PORT", binds = $CONNECTOR_BINDS }]
window = $CONNECTOR_WINDOW
${2:-}

[[routes]]
name = "all"
connectors = ["sim"]

${EXTRA_CONFIG:-}
EOF
}

# Creates the customer account `bench` in $data with the options "$@"; its
# password (8 characters, as SMPP carries) is left in $password.
add_bench_account() {
    password=$(printf 'b%07d' $((RANDOM * 32768 + RANDOM)) | cut -c1-8)
    echo "$password" | "$bin" --data-dir "$data" account add bench --password-stdin "$@" \
        >/dev/null
}

# Starts `smsgate serve` with $work/smsgate.toml and the store in $data;
# waits until SMPP listens on $HOST:$SMPP_PORT. Its pid is in $serve_pid.
start_gateway() {
    "$bin" --data-dir "$data" serve --no-demo --config "$work/smsgate.toml" \
        >"$work/serve.log" 2>&1 &
    pids+=($!)
    serve_pid=$!
    wait_for_port "$SMPP_PORT" "${pids[-1]}" serve
}
