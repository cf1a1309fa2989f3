# Shared by the start/stop scripts (sourced, not run).
# Environment:
#   FERROMQ_BIN_DIR   where mqnamesrv/mqbroker live (default: target/release of this checkout,
#                     built on first use)
#   FERROMQ_LOG_DIR   log directory for background runs (default: $HOME/logs/ferromq)
#   FERROMQ_PID_DIR   pid-file directory (default: $HOME/.ferromq)

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
    local pidfile="$FERROMQ_PID_DIR/$name.pid" log="$FERROMQ_LOG_DIR/$name.log"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "$name is already running (pid $(cat "$pidfile"))" >&2
        return 1
    fi
    nohup "$bin" "$@" >>"$log" 2>&1 &
    echo $! >"$pidfile"
    echo "$name started in the background, pid $!, log $log"
}
