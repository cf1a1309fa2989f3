#!/usr/bin/env bash
# Runs every client example (client/examples) against a NameServer and a broker started with
# scripts/mqnamesrv -d and scripts/mqbroker -d on free local ports, checks what each example
# printed, and stops both servers with scripts/mqshutdown. Exits non-zero on any failure.
#
#   scripts/run-examples.sh
#
# Environment:
#   FERROMQ_EXAMPLES_RELEASE=1  build and run release binaries (default: debug)
#   EXAMPLE_TIMEOUT             seconds each example may run before it is killed (default 60)
#   RUN_SECS                    seconds consumer examples wait for their messages (default 30)
#   KEEP_WORK_DIR=1             keep the temp dir (configs, stores, logs, outputs)
# Everything the servers write (store, logs, pid files) lives in one temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
source scripts/common.sh # ci_profile, free_broker_port, wait_for

ci_profile
EXAMPLE_TIMEOUT="${EXAMPLE_TIMEOUT:-60}"
export RUN_SECS="${RUN_SECS:-30}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ferromq-examples.XXXXXX")"
export FERROMQ_BIN_DIR="$TARGET_DIR/$PROFILE_DIR"
export FERROMQ_LOG_DIR="$WORK/logs"
export FERROMQ_PID_DIR="$WORK/pids"
export FERROMQ_STOP_TIMEOUT=30
EXAMPLES="$TARGET_DIR/$PROFILE_DIR/examples"
failures=0

log() { printf '== %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    failures=$((failures + 1))
}

# stop NAME KIND: stops our own server through its pid file (never anybody else's).
stop() {
    local pidfile="$FERROMQ_PID_DIR/$1.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        scripts/mqshutdown "$2" || fail "mqshutdown $2"
    fi
}

cleanup() {
    local rc=$?
    stop mqbroker broker
    stop mqnamesrv namesrv
    if [ "$rc" != 0 ] || [ "$failures" != 0 ]; then
        for f in "$FERROMQ_LOG_DIR"/*.log; do
            [ -f "$f" ] && { echo "--- last lines of $f"; tail -n 20 "$f"; }
        done
    fi
    if [ "${KEEP_WORK_DIR:-0}" = 1 ]; then
        echo "work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

log "building servers and examples ($PROFILE_DIR)"
cargo build $PROFILE_FLAG --quiet -p namesrv -p broker --bins
cargo build $PROFILE_FLAG --quiet -p client --examples

NS_PORT="$(free_broker_port)"
BROKER_PORT="$(free_broker_port)"
# The broker uses listenPort, listenPort-2 and listenPort+1: keep the NameServer's port apart.
while [ $((BROKER_PORT - NS_PORT)) -ge -1 ] && [ $((BROKER_PORT - NS_PORT)) -le 2 ]; do
    BROKER_PORT="$(free_broker_port)"
done
NAMESRV="127.0.0.1:$NS_PORT"
mkdir -p "$WORK/store" "$WORK/out" "$FERROMQ_LOG_DIR" "$FERROMQ_PID_DIR"

cat >"$WORK/namesrv.conf" <<EOF
listenPort=$NS_PORT
bindAddress=127.0.0.1
kvConfigPath=$WORK/namesrv/kvConfig.json
EOF
cat >"$WORK/broker.conf" <<EOF
brokerClusterName=ExampleCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
bindAddress=127.0.0.1
listenPort=$BROKER_PORT
storePathRootDir=$WORK/store
autoCreateTopicEnable=true
mappedFileSizeCommitLog=16777216
mappedFileSizeConsumeQueue=600000
transactionTimeOut=1000
transactionCheckInterval=1000
EOF

log "starting mqnamesrv on $NAMESRV"
scripts/mqnamesrv -d -c "$WORK/namesrv.conf"
wait_for "the NameServer port" 20 port_in_use "$NS_PORT"

log "starting mqbroker on 127.0.0.1:$BROKER_PORT"
RUST_LOG="info,broker::outer_api=debug" scripts/mqbroker -d -c "$WORK/broker.conf" -n "$NAMESRV"
wait_for "the broker's registration" 30 grep -q "registered broker" "$FERROMQ_LOG_DIR/mqbroker.log"

# run NAME [ARGS...]: runs an example with the time limit; its output goes to out/NAME.
run() {
    local name="$1"
    shift
    log "example $name $*"
    if ! timeout "$EXAMPLE_TIMEOUT" "$EXAMPLES/$name" "$NAMESRV" "$@" >"$WORK/out/$name" 2>&1; then
        fail "$name exited with an error"
        cat "$WORK/out/$name" >&2
        return 1
    fi
}

# expect NAME COUNT PATTERN: the output of NAME has COUNT lines matching PATTERN.
expect() {
    local got
    got="$(grep -c -E "$3" "$WORK/out/$1" || true)"
    if [ "$got" != "$2" ]; then
        fail "$1: expected $2 lines matching '$3', got $got"
        cat "$WORK/out/$1" >&2
    fi
}

# TopicTest gets 10 sync + 20 async + 10 one-way messages.
run producer_sync TopicTest && expect producer_sync 10 '^SendOk msgId=[0-9A-F]{32} offsetMsgId=[0-9A-F]{32} '
run producer_async TopicTest && expect producer_async 20 '^(future|callback): SendOk [0-9A-F]{32}'
run producer_oneway TopicTest && expect producer_oneway 1 '^sent 10 one-way messages to TopicTest$'
run producer_batch BatchTopic && {
    expect producer_batch 1 '^SendOk .* first offset 0$'
    expect producer_batch 1 '^msgIds: ([0-9A-F]{32},){15}[0-9A-F]{32}$'
}
run producer_ordered OrderTopic && {
    expect producer_ordered 12 '^order-[0-2] (created|paid|shipped|delivered) -> '
    keys_on_many_queues="$(sed -E 's/^(order-[0-9]+) [a-z]+ -> /\1 /' "$WORK/out/producer_ordered" \
        | sort -u | awk '{print $1}' | uniq -d)"
    [ -z "$keys_on_many_queues" ] || fail "producer_ordered: keys on several queues: $keys_on_many_queues"
}

EXPECT_MESSAGES=40 run consumer_push TopicTest && {
    expect consumer_push 40 ' body=(Hello ferromq|async|callback|oneway) [0-9]$'
    expect consumer_push 1 '^received 40 messages$'
}

# Two broadcasting consumers at once: each gets all 40.
log "example consumer_broadcast x2 TopicTest"
for i in 1 2; do
    EXPECT_MESSAGES=40 OFFSET_STORE_DIR="$WORK/offsets" timeout "$EXAMPLE_TIMEOUT" \
        "$EXAMPLES/consumer_broadcast" "$NAMESRV" TopicTest >"$WORK/out/consumer_broadcast.$i" 2>&1 &
    eval "broadcast_$i=\$!"
done
for i in 1 2; do
    eval "pid=\$broadcast_$i"
    if wait "$pid"; then
        expect "consumer_broadcast.$i" 1 '^received 40 messages$'
    else
        fail "consumer_broadcast copy $i exited with an error"
        cat "$WORK/out/consumer_broadcast.$i" >&2
    fi
done

run consumer_pull BatchTopic && {
    expect consumer_pull 16 '^BatchTopic q[0-9]+ offset=[0-9]+ batch item [0-9]+$'
    expect consumer_pull 1 '^read 16 messages$'
}

EXPECT_MESSAGES=12 run consumer_orderly OrderTopic && {
    expect consumer_orderly 1 '^received 12 messages$'
    for order in 0 1 2; do
        steps="$(grep -o "order-$order [a-z]*" "$WORK/out/consumer_orderly" | awk '{print $2}' | tr '\n' ' ')"
        [ "$steps" = "created paid shipped delivered " ] \
            || fail "consumer_orderly: order-$order consumed as: $steps"
    done
}

# Orders 2,4,6,8 commit, 5 and 10 are committed by the check-back, the odd ones roll back.
run transaction TransactionTopic && {
    expect transaction 1 '^all 2 unknown transactions checked$'
    cp "$WORK/out/transaction" "$WORK/out/transaction.run"
    run consumer_pull TransactionTopic && {
        expect consumer_pull 1 '^read 6 messages$'
        bodies="$(grep -o 'order [0-9]*$' "$WORK/out/consumer_pull" | awk '{print $2}' | sort -n | tr '\n' ' ')"
        [ "$bodies" = "2 4 5 6 8 10 " ] || fail "TransactionTopic holds orders: $bodies"
    }
}

log "stopping the servers"
stop mqbroker broker
stop mqnamesrv namesrv

if [ "$failures" != 0 ]; then
    echo "$failures example check(s) failed" >&2
    exit 1
fi
echo "all examples passed"
