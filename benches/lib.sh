# benches/lib.sh: what the scripts under benches/ share. Sourced, not run:
# set BENCH_NAME (the prefix of log lines) and HOST first.
#
# It gives: `pids` (append what you start; it is stopped on exit, the last
# started first) and `work` (the temporary directory, removed on exit unless
# KEEP=1), `log`, `stop_pid PID`, `listening PORT`, `take_port VAR` (sets
# VAR, unless the environment set it, to a port of $HOST nothing listens on
# and no earlier take_port handed out) and `wait_for_port PORT PID NAME`
# (NAME's log is $work/NAME.log), `build_release` (builds $root's release
# binary unless NO_BUILD=1, and checks that $bin is there).

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
