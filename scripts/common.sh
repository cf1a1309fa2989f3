# shellcheck shell=bash
# Shared by the start/stop scripts (sourced, not run).
# Environment:
#   FERROMQ_BIN_DIR   where mqnamesrv/mqbroker live (default: target/release of this checkout,
#                     built on first use)
#   FERROMQ_LOG_DIR   log directory for background runs (default: $HOME/logs/ferromq)
#   FERROMQ_PID_DIR   pid-file directory (default: $HOME/.ferromq)
# Helpers besides find_bin/start_server: daemon_start, alive, stop_pids, port_in_use,
# free_broker_port, now_ms, ci_profile, wait_for, wait_for_log, cluster_members.

FERROMQ_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FERROMQ_LOG_DIR="${FERROMQ_LOG_DIR:-$HOME/logs/ferromq}"
FERROMQ_PID_DIR="${FERROMQ_PID_DIR:-$HOME/.ferromq}"

# find_bin NAME: prints the path of a ferromq binary, building the release binaries if needed.
find_bin() {
    local name="$1"
    if [ -n "${FERROMQ_BIN_DIR:-}" ]; then
        echo "$FERROMQ_BIN_DIR/$name"
        return
    fi
    local bin="$FERROMQ_HOME/target/release/$name"
    if [ ! -x "$bin" ]; then
        echo "building $name (cargo build --release) ..." >&2
        (cd "$FERROMQ_HOME" && cargo build --release --quiet --bin "$name") >&2 || return 1
    fi
    echo "$bin"
}

# start_server NAME [-d] ARGS...: runs NAME in the foreground, or with -d in the background with
# its pid in $FERROMQ_PID_DIR/NAME.pid and its output in $FERROMQ_LOG_DIR/NAME.log.
start_server() {
    local name="$1"; shift
    local daemon=0
    if [ "${1:-}" = "-d" ] || [ "${1:-}" = "--daemon" ]; then daemon=1; shift; fi
    local bin
    bin="$(find_bin "$name")" || { echo "$name: build failed" >&2; return 1; }
    if [ "$daemon" = 0 ]; then
        exec "$bin" "$@"
    fi
    mkdir -p "$FERROMQ_LOG_DIR" "$FERROMQ_PID_DIR"
    local log="$FERROMQ_LOG_DIR/$name.log"
    daemon_start "$FERROMQ_PID_DIR/$name.pid" "$log" "$bin" "$@" || return 1
    echo "$name started in the background, pid $DAEMON_PID, log $log"
}

# daemon_start PIDFILE LOG BIN ARGS...: runs BIN in the background (immune to hangups), output
# appended to LOG, pid written to PIDFILE and left in DAEMON_PID. Refuses (1) when PIDFILE
# names a live process.
daemon_start() {
    local pidfile="$1" log="$2"; shift 2
    if [ -f "$pidfile" ] && alive "$(cat "$pidfile")"; then
        echo "$(basename "$1") is already running (pid $(cat "$pidfile"))" >&2
        return 1
    fi
    nohup "$@" >>"$log" 2>&1 &
    DAEMON_PID=$!
    echo "$DAEMON_PID" >"$pidfile"
}

# alive PID: true while PID runs (a zombie, exited but not yet reaped, counts as gone).
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local state
    if [ -r "/proc/$1/stat" ]; then
        read -r state <"/proc/$1/stat" || return 1
        state="${state##*) }"
    else
        state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
    fi
    [ "${state:0:1}" != Z ]
}

# stop_pids SECONDS PID...: SIGTERM to every PID, then waits until all have exited; returns 1,
# naming them on stderr, if some are still running after SECONDS.
stop_pids() {
    local secs="$1"; shift
    [ "$#" -gt 0 ] || return 0
    kill -TERM "$@" 2>/dev/null || true
    local deadline=$(( $(date +%s) + secs )) pid left
    while :; do
        left=""
        for pid in "$@"; do alive "$pid" && left="$left $pid"; done
        [ -z "$left" ] && return 0
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "still running after ${secs} s:$left" >&2
            return 1
        fi
        sleep 0.05
    done
}

# port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_broker_port: prints a port P with P, P-2 (broker fast port) and P+1 (HA port) all free.
# P is taken below the kernel's ephemeral range (ip_local_port_range), where no outgoing
# connection can be holding it between this check and the server's bind.
free_broker_port() {
    local p lo=32768 span
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    span=$((lo - 10010))
    if ((span < 2000)); then span=40000; fi # unusual range: fall back to 10000..50000
    for _ in $(seq 1 200); do
        p=$((10002 + (RANDOM * 32768 + RANDOM) % span))
        if ! port_in_use "$p" && ! port_in_use $((p - 2)) && ! port_in_use $((p + 1)); then
            echo "$p"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

now_ms() { date +%s%3N; }

# ci_profile: sets PROFILE_FLAG ("" or --release) and PROFILE_DIR (debug or release) for the CI
# scripts (run-examples.sh, cluster-check.sh): release when FERROMQ_EXAMPLES_RELEASE=1.
# shellcheck disable=SC2034 # read by the callers
ci_profile() {
    PROFILE_FLAG=""
    PROFILE_DIR=debug
    if [ "${FERROMQ_EXAMPLES_RELEASE:-0}" = 1 ]; then
        PROFILE_FLAG="--release"
        PROFILE_DIR=release
    fi
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND every 100 ms until it succeeds.
wait_for() {
    local what="$1" secs="$2"
    shift 2
    local deadline=$(($(date +%s) + secs))
    until "$@"; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "timed out waiting for $what" >&2
            return 1
        fi
        sleep 0.1
    done
}

# wait_for_log LOG TEXT PID SECONDS: waits until LOG contains TEXT; fails (printing the end of
# LOG) if PID exits first.
wait_for_log() {
    local log="$1" text="$2" pid="$3" deadline=$(( $(now_ms) + $4 * 1000 ))
    until grep -q "$text" "$log" 2>/dev/null; do
        if ! alive "$pid"; then
            echo "process $pid exited; its log ($log):" >&2
            tail -n 20 "$log" >&2
            return 1
        fi
        if [ "$(now_ms)" -gt "$deadline" ]; then
            echo "timed out waiting for '$text' in $log" >&2
            return 1
        fi
        sleep 0.002
    done
}

# cluster_members NAMESRV: one line "brokerName brokerId addr" per broker address that
# `mqadmin clusterList --json` lists (nothing, status 1, while the NameServer does not answer).
cluster_members() {
    local mqadmin json
    mqadmin="$(find_bin mqadmin)" || return 1
    json="$("$mqadmin" clusterList -n "$1" --json 2>/dev/null)" || return 1
    # One line, without each row's flat runtimeInfo table, then one row per line; any key order.
    printf '%s' "$json" | tr -d '\n' | sed -E 's/"runtimeInfo": *(\{[^}]*\}|null)//g' | tr '}' '\n' | awk '
        function field(key,  v) {
            if (!match($0, "\"" key "\": *\"?[^\", ]*")) return ""
            v = substr($0, RSTART, RLENGTH)
            sub(/^"[^"]*": *"?/, "", v)
            return v
        }
        { name = field("brokerName"); if (name != "") print name, field("brokerId"), field("addr") }'
}
