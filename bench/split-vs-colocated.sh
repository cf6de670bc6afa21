#!/usr/bin/env bash
# Split (Splitwise) vs colocated serving on the same model and machine: runs `splitstream loadgen` against a mesh
# started by `splitstream up` in each mode at several request rates, then writes a Markdown table and a PNG chart
# (TTFT and TBT percentiles vs rate) into bench/results/.
#   MODEL=path RATES="0.5 1 2 4" DURATION=30 PROMPT_LEN=uniform:64:256 OUTPUT_LEN=fixed:64 bench/split-vs-colocated.sh
# On 2 cores, split mode pins prefill to CPU 0 and decode to CPU 1 (`up --pin`, taskset) with one engine thread
# each; colocated runs one decode instance on both cores with 2 threads.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
MODEL="${MODEL:-$ROOT/models/splitstream-demo.gguf}"
RATES="${RATES:-0.5 1 2 4}"
DURATION="${DURATION:-30}"
PROMPT_LEN="${PROMPT_LEN:-uniform:64:256}"
OUTPUT_LEN="${OUTPUT_LEN:-fixed:64}"
SLO_TBT_MS="${SLO_TBT_MS:-100}"
OUT="$ROOT/bench/results"
RAW="$OUT/raw"
mkdir -p "$RAW"
rm -f "$RAW"/*.json

run_mode() {
  local mode=$1; shift
  local log="$RAW/up-$mode.log"
  "$ROOT/splitstream" up --model "$MODEL" --mode "$mode" --port 18080 --http-port 18000 "$@" \
      --log-dir "$RAW/logs-$mode" > "$RAW/ready-$mode.txt" 2> "$log" &
  local up=$!
  for _ in $(seq 1 300); do grep -q READY "$RAW/ready-$mode.txt" 2>/dev/null && break; sleep 1; done
  grep -q READY "$RAW/ready-$mode.txt" || { cat "$log"; kill $up; exit 1; }
  # warm-up so the JIT has compiled the kernels before anything is measured
  "$ROOT/splitstream" loadgen --endpoint 127.0.0.1:18080 --rate 1 --duration 10 --prompt-len "$PROMPT_LEN" \
      --output-len fixed:16 --json > /dev/null
  for rate in $RATES; do
    echo "== $mode rate $rate" >&2
    "$ROOT/splitstream" loadgen --endpoint 127.0.0.1:18080 --rate "$rate" --duration "$DURATION" --seed 7 \
        --prompt-len "$PROMPT_LEN" --output-len "$OUTPUT_LEN" --slo-tbt-ms "$SLO_TBT_MS" --json > "$RAW/$mode-$rate.json"
  done
  kill $up
  wait $up || true
}

run_mode split --pin --threads 1
run_mode colocated --threads 2
"${SPLITSTREAM_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}" "$HERE/Chart.java" "$RAW" "$OUT" "$(basename "$MODEL")" "$SLO_TBT_MS"
cat "$OUT/split-vs-colocated.md"
