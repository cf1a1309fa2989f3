#!/usr/bin/env bash
# The product's throughput / latency scenarios, one after the other in one run against fresh
# local clusters (release build, free 127.0.0.1 ports, temporary stores), then a table of
# measured numbers next to the targets with the exact mqbench commands.
#   scripts/bench-all.sh [SECONDS_PER_SCENARIO]    (default 10)
# Environment: BENCH_DRAIN_COUNT (messages pre-filled for the drain, default 1000000),
# BENCH_KEEP=1 keeps the temporary directory, BENCH_OUT=FILE also writes the table there.
set -euo pipefail
source "$(dirname "$0")/local-cluster.sh"

SECS="${1:-10}"
DRAIN_COUNT="${BENCH_DRAIN_COUNT:-1000000}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ferromq-bench.XXXXXX")"
ROWS=()
cleanup() {
    local rc=$?
    lc_stop
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# json_num JSON KEY [OBJECT]: a number from mqbench's one-line JSON (inside OBJECT if given).
json_num() {
    local json="$1" key="$2" obj="${3:-}"
    if [ -n "$obj" ]; then
        json="$(printf '%s' "$json" | sed -n "s/.*\"$obj\":{\([^}]*\)}.*/\1/p")"
    fi
    printf '%s' "$json" | grep -o "\"$key\":[-0-9.e+]*" | head -n1 | cut -d: -f2
}

int() { printf '%.0f' "${1:-0}"; }

# bench NAME TARGET_TEXT CHECK MQBENCH_ARGS...: runs mqbench, prints its summary, adds a row.
# CHECK is an arithmetic test over $tps, $p50, $p99 (integers, µs), e.g. 'tps >= 15000'.
# CPU per message: mqbench's own (user+sys) and the broker's during the run.
bench() {
    local name="$1" target="$2" check="$3"; shift 3
    local cmd="mqbench $*"
    echo "== $name: $cmd"
    local json b0 b1 c0 c1
    b0=$(lc_ticks "$LC_BROKER_PID"); times >"$WORK/times0"
    "$LC_BIN/mqbench" "$@" -n "$NAMESRV_ADDR" --json --report-interval-secs 0 >"$WORK/out.json" || true
    b1=$(lc_ticks "$LC_BROKER_PID"); times >"$WORK/times1"
    json=$(cat "$WORK/out.json")
    c0=$(lc_child_secs "$WORK/times0"); c1=$(lc_child_secs "$WORK/times1")
    echo "$json" >"$WORK/$(echo "$name" | tr -c 'A-Za-z0-9' _).json"
    local rtkey=send_rt_us
    [ "$1" = consume ] && rtkey=e2e_latency_us
    tps=$(int "$(json_num "$json" tps)")
    p50=$(int "$(json_num "$json" p50 "$rtkey")")
    p99=$(int "$(json_num "$json" p99 "$rtkey")")
    local failures msgs verdict cpu
    failures=$(int "$(json_num "$json" failures)")
    msgs=$(int "$(json_num "$json" messages)")
    cpu=$(awk -v m="$msgs" -v c="$c0" -v d="$c1" -v b="$((b1 - b0))" \
        'BEGIN { if (m == 0) m = 1; printf "%.1f + %.1f", (d - c) * 1e6 / m, b * 1e4 / m }')
    if [ -n "$json" ] && (( check )) && [ "$failures" = 0 ]; then verdict=PASS; else verdict=MISS; fi
    echo "   $tps msg/s, p50 $p50 us, p99 $p99 us, failures $failures, CPU us/msg client + broker $cpu -> $verdict"
    local lat="send RT"
    [ "$1" = consume ] && lat="e2e"
    ROWS+=("| $name | \`$cmd -n \$NS\` | $target | $tps msg/s; $lat p50 $p50 µs, p99 $p99 µs | $cpu | $verdict |")
}

echo "== building release binaries"
lc_build
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"

# (f) boot time and idle RSS of a fresh broker, then the ASYNC_FLUSH scenarios on it.
lc_start "$WORK/async"
sleep 2
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$LC_BROKER_PID/status")
boot_ms=$LC_BROKER_BOOT_MS
echo "== broker boot success after $boot_ms ms (exec to log line), idle RSS $((rss_kib / 1024)) MiB"

D="--duration-secs $SECS"
bench "a. sync send, 1 thread, 1 KiB" "≥ 15K msg/s, p50 < 60 µs" 'tps >= 15000 && p50 < 60' \
    produce -t BenchSync --mode sync --threads 1 --size 1024 $D
bench "b. async send, 1 KiB" "≥ 200K msg/s" 'tps >= 200000' \
    produce -t BenchAsync --mode async --inflight 1024 --size 1024 $D
bench "b2. one-way send, 1 thread, 1 KiB" "— (no target)" 'tps > 0' \
    produce -t BenchOneway --mode oneway --threads 1 --size 1024 $D
bench "c. batches of 128 × 1 KiB" "≥ 600K msg/s" 'tps >= 600000' \
    produce -t BenchBatch --mode sync --batch 128 --threads 1 --size 1024 $D
echo "== pre-filling BenchDrain with $DRAIN_COUNT messages"
"$LC_BIN/mqbench" produce -n "$NAMESRV_ADDR" -t BenchDrain --batch 128 --threads 2 --size 1024 \
    --count "$DRAIN_COUNT" --report-interval-secs 0 >/dev/null
bench "d. consumer drain of a pre-filled topic" "≥ 1M msg/s" 'tps >= 1000000' \
    consume -t BenchDrain -g drain_group --from first --count "$DRAIN_COUNT" --pull-batch 256 $D
lc_stop
rm -rf "$WORK/async" # several GB by now

# (e) a SYNC_FLUSH broker.
lc_start "$WORK/sync" "flushDiskType=SYNC_FLUSH"
bench "e. SYNC_FLUSH broker, 64 sender threads" "≥ 100K msg/s" 'tps >= 100000' \
    produce -t BenchSyncFlush --mode sync --threads 64 --size 1024 $D
lc_stop

boot_verdict=MISS; (( boot_ms < 200 )) && boot_verdict=PASS
rss_verdict=MISS; (( rss_kib < 30 * 1024 )) && rss_verdict=PASS
ROWS+=("| f. idle broker RSS | \`grep VmRSS /proc/<broker pid>/status\` 2 s after boot | < 30 MiB | $((rss_kib / 1024)).$(( (rss_kib % 1024) * 10 / 1024 )) MiB | | $rss_verdict |")
ROWS+=("| f. broker start to \"boot success\" | exec → log line, empty store | < 200 ms | $boot_ms ms | | $boot_verdict |")

{
    echo
    echo "| scenario | command | target | measured | CPU µs/msg (mqbench + broker) | |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
} | tee "${BENCH_OUT:-/dev/null}"
