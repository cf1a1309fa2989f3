#!/usr/bin/env bash
# A/B comparison of two builds on the bench-all scenarios, interleaved so that load from other
# processes hits both sides alike: for each scenario and round, a fresh cluster of build A, then
# one of build B. Prints per-run lines and a table of medians: throughput and CPU time per
# message of the client (mqbench) and of the broker.
#   scripts/bench-compare.sh BIN_DIR_A BIN_DIR_B [ROUNDS] [SECONDS]
# Each BIN_DIR holds mqnamesrv, mqbroker and mqbench (e.g. an older checkout's target/release).
# BENCH_DRAIN_COUNT (default 500000) messages are pre-filled for the drain scenario;
# BENCH_ONLY="a c" runs only those scenarios.
set -euo pipefail
source "$(dirname "$0")/local-cluster.sh"

A="${1:?usage: bench-compare.sh BIN_DIR_A BIN_DIR_B [ROUNDS] [SECONDS]}"
B="${2:?usage: bench-compare.sh BIN_DIR_A BIN_DIR_B [ROUNDS] [SECONDS]}"
ROUNDS="${3:-3}"
SECS="${4:-5}"
DRAIN_COUNT="${BENCH_DRAIN_COUNT:-500000}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ferromq-compare.XXXXXX")"
trap 'lc_stop; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

SCENARIOS=(
    "a|sync 1 thread|produce -t S --mode sync --threads 1 --size 1024 --duration-secs $SECS"
    "b|async window 1024|produce -t S --mode async --inflight 1024 --size 1024 --duration-secs $SECS"
    "c|batch 128 x 1 KiB|produce -t S --batch 128 --size 1024 --duration-secs $SECS"
    "d|drain, pull batch 32|consume -t D -g g1 --from first --count $DRAIN_COUNT --duration-secs 30"
    "d2|drain, pull batch 256|consume -t D -g g2 --from first --count $DRAIN_COUNT --pull-batch 256 --duration-secs 30"
    "e|SYNC_FLUSH, 64 threads|produce -t S --mode sync --threads 64 --size 1024 --duration-secs $SECS"
)

# run_one BIN_DIR ID ARGS: prints "tps client_us_per_msg broker_us_per_msg".
run_one() {
    local bin="$1" id="$2"; shift 2
    LC_BIN="$bin"
    local extra=()
    [ "$id" = e ] && extra=("flushDiskType=SYNC_FLUSH")
    local dir="$WORK/run"
    rm -rf "$dir"
    lc_start "$dir" "${extra[@]}" >/dev/null
    if [ "$1" = consume ]; then
        "$bin/mqbench" produce -n "$NAMESRV_ADDR" -t D --batch 128 --size 1024 --count "$DRAIN_COUNT" \
            --report-interval-secs 0 >/dev/null
    else
        "$bin/mqbench" produce -n "$NAMESRV_ADDR" -t S --count 10 --report-interval-secs 0 >/dev/null
    fi
    local b0 c0 json b1 c1
    b0=$(lc_ticks "$LC_BROKER_PID"); times >"$WORK/times0"
    "$bin/mqbench" "$@" -n "$NAMESRV_ADDR" --json --report-interval-secs 0 >"$WORK/out.json" || true
    b1=$(lc_ticks "$LC_BROKER_PID"); times >"$WORK/times1"
    json=$(cat "$WORK/out.json")
    c0=$(lc_child_secs "$WORK/times0"); c1=$(lc_child_secs "$WORK/times1")
    lc_stop
    rm -rf "$dir" # a run writes up to several GB
    local msgs tps
    msgs=$(printf '%s' "$json" | grep -o '"messages":[0-9]*' | head -n1 | cut -d: -f2)
    tps=$(printf '%s' "$json" | grep -o '"tps":[0-9.e+]*' | head -n1 | cut -d: -f2)
    awk -v m="${msgs:-0}" -v t="${tps:-0}" -v c="$(awk -v a="$c0" -v b="$c1" 'BEGIN{print b-a}')" \
        -v b="$((b1 - b0))" 'BEGIN { if (m == 0) m = 1; printf "%.0f %.2f %.2f\n", t, c * 1e6 / m, b * 1e4 / m }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "A=$A"
echo "B=$B"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds of $SECS s"
TABLE=()
for s in "${SCENARIOS[@]}"; do
    IFS='|' read -r id name args <<<"$s"
    if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $id "* ]]; then continue; fi
    : >"$WORK/A.txt"; : >"$WORK/B.txt"
    for r in $(seq 1 "$ROUNDS"); do
        # shellcheck disable=SC2086
        ra=$(run_one "$A" "$id" $args); echo "$ra" >>"$WORK/A.txt"
        # shellcheck disable=SC2086
        rb=$(run_one "$B" "$id" $args); echo "$rb" >>"$WORK/B.txt"
        echo "$id round $r: A $ra | B $rb   (msg/s, client us/msg, broker us/msg)"
    done
    row="| $id. $name |"
    for side in A B; do
        for col in 1 2 3; do
            row+=" $(cut -d' ' -f$col "$WORK/$side.txt" | median) |"
        done
    done
    TABLE+=("$row")
done
echo
echo "| scenario | A msg/s | A client µs/msg | A broker µs/msg | B msg/s | B client µs/msg | B broker µs/msg |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${TABLE[@]}"
