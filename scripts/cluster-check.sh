#!/usr/bin/env bash
# CI check of scripts/cluster (run by scripts/check.sh): starts the 2m-2s-async, then the
# 2m-2s-sync example cluster (SYNC_MASTER)
# (a NameServer, two masters, two slaves) on free 127.0.0.1 ports under a temp dir, checks with
# `mqadmin clusterList --json` that broker-a and broker-b each have brokerId 0 and 1, sends
# messages to both masters with `mqadmin sendMessage`, reads them back with `mqadmin
# consumeMessage`, waits until each slave's commitlog (`mqadmin brokerStatus`
# commitLogMaxOffset) equals its master's (HA replication), stops the cluster and checks that
# none of its processes is left.
#
#   scripts/cluster-check.sh
#
# Uses the debug binaries run-examples.sh builds (FERROMQ_EXAMPLES_RELEASE=1: release), and
# KEEP_WORK_DIR=1 keeps the temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh # ci_profile, alive, wait_for, cluster_members

ci_profile
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ferromq-cluster-check.XXXXXX")"
export FERROMQ_BIN_DIR="${CARGO_TARGET_DIR:-$(pwd)/target}/$PROFILE_DIR"
export FERROMQ_PID_DIR="$WORK/pids" # keeps the user's "last cluster" pointer untouched
DIR="$WORK/none" # the cluster being checked (set by check_cluster)
MQADMIN="$FERROMQ_BIN_DIR/mqadmin"
TOPIC=ClusterCheckTopic

cleanup() {
    local rc=$?
    if [ -f "$DIR/cluster.tsv" ]; then scripts/cluster stop --dir "$DIR" >/dev/null 2>&1 || true; fi
    if [ "$rc" != 0 ]; then
        for f in "$DIR"/logs/*.log; do
            [ -f "$f" ] && { echo "--- last lines of $f"; tail -n 10 "$f"; }
        done
    fi
    if [ "${KEEP_WORK_DIR:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

echo "== building servers and mqadmin ($PROFILE_DIR)"
cargo build $PROFILE_FLAG --quiet -p namesrv -p broker -p tools --bins

# check_cluster CONF: start CONF's cluster, check membership, send/read back on both masters
# (with SYNC_MASTER a SEND_OK already means a slave has the message), wait until every slave
# holds its master's commitlog, stop, and check nothing is left running.
check_cluster() {
    CONF="$1"
    DIR="$WORK/$(basename "$CONF")"
    echo "== scripts/cluster start --conf $CONF --free-ports"
    scripts/cluster start --conf "$CONF" --dir "$DIR" --free-ports
    NS="$(awk -F'\t' '$1 == "namesrv" { print $5 }' "$DIR/cluster.tsv")"

    members="$(cluster_members "$NS" | awk '{ print $1, $2 }' | sort | tr '\n' ' ')"
    [ "$members" = "broker-a 0 broker-a 1 broker-b 0 broker-b 1 " ] \
        || fail "clusterList --json lists: $members"
    echo "clusterList: $members"

    "$MQADMIN" updateTopic -n "$NS" -c DefaultCluster -t "$TOPIC" -r 2 -w 2 >/dev/null
    route_has_both() {
        local route
        route="$("$MQADMIN" topicRoute -n "$NS" -t "$TOPIC" --json 2>/dev/null | tr -d ' \n')" || return 1
        [[ "$route" == *'"queueDatas":[{"brokerName":"broker-a"'*'"brokerName":"broker-b"'* ]]
    }
    wait_for "$TOPIC's route on both masters" 30 route_has_both

    sent=""
    for broker in broker-a broker-b; do
        for i in 1 2 3; do
            out="$("$MQADMIN" sendMessage -n "$NS" -t "$TOPIC" -b "$broker" -p "$broker message $i" -k "key-$i")"
            grep -q "^$broker .* SEND_OK " <<<"$out" || fail "sendMessage to $broker: $out"
            sent="$sent$broker message $i|$broker"$'\n'
        done
    done

    got="$("$MQADMIN" consumeMessage -n "$NS" -t "$TOPIC" --json | tr -d '\n' | grep -o \
        '"body": *"[^"]*"\|"brokerName": *"[^"]*"' | sed -E 's/^"[a-zA-Z]+": *"(.*)"$/\1/' | paste -d'|' - -)"
    [ "$(sort <<<"$got")" = "$(sort <<<"${sent%$'\n'}")" ] \
        || fail "consumeMessage read back:"$'\n'"$got"$'\n'"expected:"$'\n'"$sent"
    echo "sent and read back $(wc -l <<<"$got") messages on both masters"

    echo "== replication: every slave catches up with its master's commitlog"
    addr_of() { awk -F'\t' -v p="$1" '$1 == p { print $5 }' "$DIR/cluster.tsv"; }
    max_offset() {
        "$MQADMIN" brokerStatus -n "$NS" -b "$1" 2>/dev/null | awk '$1 == "commitLogMaxOffset" { print $NF }'
    }
    for broker in broker-a broker-b; do
        master="$(addr_of "$broker")"
        slave="$(addr_of "$broker-s")"
        want="$(max_offset "$master")"
        [ -n "$want" ] && [ "$want" -gt 0 ] || fail "$broker reports commitLogMaxOffset '$want'"
        slave_caught_up() { [ "$(max_offset "$slave")" = "$want" ]; }
        wait_for "$broker-s ($slave) to replicate $want bytes" 30 slave_caught_up
        echo "$broker-s replicated $want bytes of $broker"
    done

    pids="$(cat "$DIR"/pids/*.pid)"
    echo "== scripts/cluster stop"
    scripts/cluster stop --dir "$DIR"
    for pid in $pids; do
        if alive "$pid"; then fail "process $pid is still running"; fi
    done
    left="$(pgrep -f "$DIR/conf/" || true)"
    for pid in $left; do
        if alive "$pid"; then fail "process $pid of the cluster is still running"; fi
    done
}

check_cluster conf/2m-2s-async
check_cluster conf/2m-2s-sync
echo "cluster check passed"
