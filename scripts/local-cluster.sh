# shellcheck shell=bash
# A throw-away local cluster (one NameServer, one broker) on free 127.0.0.1 ports under a
# temporary directory; sourced by scripts/quickstart and scripts/bench-all.sh, not run.
#
#   lc_build                      cargo build --release of mqnamesrv, mqbroker, mqbench
#   lc_start DIR [KEY=VALUE ...]  start both under DIR (extra broker.conf lines allowed);
#                                 sets NAMESRV_ADDR, LC_NS_PID, LC_BROKER_PID, LC_BROKER_BOOT_MS
#   lc_stop                       SIGTERM both (SIGKILL after 10 s); safe to call twice
#   lc_ticks PID, lc_child_secs F CPU time of a process / of this shell's finished children
# Needs only bash and coreutils (free ports are probed with bash's /dev/tcp).
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LC_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LC_BIN="${FERROMQ_BIN_DIR:-$LC_HOME/target/release}"
LC_NS_PID=""
LC_BROKER_PID=""

lc_build() {
    (cd "$LC_HOME" && cargo build --release --quiet --bin mqnamesrv --bin mqbroker --bin mqbench)
}

# lc_ticks PID: user+sys CPU of PID so far, in clock ticks (1/100 s).
lc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# lc_child_secs FILE: children's user+sys seconds from `times` output saved in FILE (`times`
# must run in the shell that ran the children, not in a command substitution).
lc_child_secs() {
    tail -n1 "$1" | awk '{ for (i = 1; i <= 2; i++) { split($i, p, "m"); s += p[1] * 60 + p[2] } } END { printf "%.3f", s }'
}

# lc_start_one NAME CONF LOG: starts NAME with -c CONF, waits for "boot success"; 1 if it
# did not boot (e.g. its port was taken between probe and bind).
lc_start_one() {
    local name="$1" conf="$2" log="$3"
    RUST_LOG="${RUST_LOG:-warn}" "$LC_BIN/$name" -c "$conf" >"$log" 2>&1 &
    LC_LAST_PID=$!
    if ! wait_for_log "$log" "boot success" "$LC_LAST_PID" 20 2>"$log.wait"; then
        lc_kill "$LC_LAST_PID"
        return 1
    fi
}

lc_start() {
    local dir="$1"; shift
    mkdir -p "$dir/store"
    local ns_port broker_port attempt t0
    for attempt in 1 2 3 4 5; do
        ns_port="$(free_broker_port)" || return 1
        printf 'listenPort=%s\nkvConfigPath=%s/kvConfig.json\n' "$ns_port" "$dir" >"$dir/namesrv.conf"
        lc_start_one mqnamesrv "$dir/namesrv.conf" "$dir/namesrv.log" && break
        [ "$attempt" = 5 ] && { cat "$dir/namesrv.log.wait" >&2; return 1; }
    done
    LC_NS_PID=$LC_LAST_PID
    NAMESRV_ADDR="127.0.0.1:$ns_port"
    export NAMESRV_ADDR
    for attempt in 1 2 3 4 5; do
        broker_port="$(free_broker_port)" || return 1
        {
            echo "brokerClusterName=LocalCluster"
            echo "brokerName=local-broker"
            echo "brokerId=0"
            echo "brokerIP1=127.0.0.1"
            echo "namesrvAddr=$NAMESRV_ADDR"
            echo "listenPort=$broker_port"
            echo "storePathRootDir=$dir/store"
            echo "autoCreateTopicEnable=true"
            for line in "$@"; do echo "$line"; done
        } >"$dir/broker.conf"
        t0="$(now_ms)"
        if lc_start_one mqbroker "$dir/broker.conf" "$dir/broker.log"; then
            # shellcheck disable=SC2034 # read by the callers
            LC_BROKER_BOOT_MS=$(( $(now_ms) - t0 ))
            LC_BROKER_PID=$LC_LAST_PID
            return 0
        fi
        [ "$attempt" = 5 ] && { cat "$dir/broker.log.wait" >&2; return 1; }
    done
}

# lc_kill PID: SIGTERM, then SIGKILL after 10 s; reaps it (it is this shell's child).
lc_kill() {
    local pid="$1"
    [ -n "$pid" ] || return 0
    stop_pids 10 "$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

lc_stop() {
    lc_kill "$LC_BROKER_PID"; LC_BROKER_PID=""
    lc_kill "$LC_NS_PID"; LC_NS_PID=""
}
