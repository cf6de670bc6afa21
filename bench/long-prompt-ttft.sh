#!/usr/bin/env bash
# TTFT of one long prompt, split vs colocated, with the KV state moved as F32 or int8: the issue-5 figures.
#   MODEL=/path/llama-1b-Q4_0.gguf bench/long-prompt-ttft.sh        (make it: splitstream make-model --preset llama-1b --type Q4_0 --out ...)
# Split mode pins prefill to CPU 0 and decode to CPU 1 with one thread each; colocated uses both cores.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODEL="${MODEL:?set MODEL to a GGUF file}"
PROMPT="$(python3 -c "print(' '.join(['the cat sat on the mat and looked at the door']*11) + ' the cat sat')")"
OUT="$ROOT/bench/results/raw"
mkdir -p "$OUT"

measure() {
  local name=$1; shift
  "$ROOT/splitstream" up --model "$MODEL" --port 18080 --http-port 18000 --kv-tokens 2048 --log-dir "$OUT/logs-$name" "$@" \
      > "$OUT/ready-$name.txt" 2> "$OUT/up-$name.log" &
  local up=$!
  for _ in $(seq 1 300); do grep -q READY "$OUT/ready-$name.txt" 2>/dev/null && break; sleep 1; done
  "$ROOT/splitstream" complete --endpoint 127.0.0.1:18080 --prompt "warm up the kernels" --max-tokens 4 --temperature 0 --json > /dev/null
  "$ROOT/splitstream" complete --endpoint 127.0.0.1:18080 --prompt "$PROMPT" --max-tokens 4 --temperature 0 --json \
      | tee "$OUT/long-prompt-$name.json"
  kill $up
  wait $up || true
}

measure split-f32 --mode split --pin --threads 1
measure split-q8 --mode split --pin --threads 1 --kv q8
measure colocated --mode colocated --threads 2
