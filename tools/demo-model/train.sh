#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Splitstream demo model from scratch: KJV text -> BPE tokenizer ->
# small Llama trained in PyTorch (CPU) -> models/splitstream-demo.gguf.
# Prerequisites (Debian 12), installed by hand, not by this script:
#   apt-get install -y bible-kjv python3-torch python3-regex python3-numpy libopenblas0-pthread
# Usage: tools/demo-model/train.sh            (WORK=/tmp/demo-model, STEPS=750)
#        WORK=/some/dir STEPS=750 tools/demo-model/train.sh
#        RESUME=1 tools/demo-model/train.sh    (continue from WORK/ckpt.pt)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-/tmp/demo-model}"
STEPS="${STEPS:-750}"
PY=/usr/bin/python3          # Debian's python3-torch is built for the system python
mkdir -p "$WORK" "$ROOT/models"

# glibc malloc tuning: keeps large activations out of mmap/munmap churn (~2x faster
# steps on CPU); one BLAS thread because torch already runs 2 threads.
export MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 \
       MALLOC_TOP_PAD_=1073741824 OPENBLAS_NUM_THREADS=1

echo "== 1. data"
bible -f "gen1:1-rev22:21" > "$WORK/kjv_raw.txt"
$PY "$HERE/prepare_data.py" "$WORK/kjv_raw.txt" "$WORK/train.txt" "$WORK/heldout.txt"
cp "$WORK/heldout.txt" "$ROOT/models/splitstream-demo-heldout.txt"

echo "== 2. tokenizer"
$PY "$HERE/tokenizer_bpe.py" train "$WORK/train.txt" "$WORK/tokenizer.json" 3072

echo "== 3. training ($STEPS steps)"
RES=""
if [ "${RESUME:-0}" = 1 ]; then RES="--resume"; else rm -f "$WORK/ckpt.pt"; fi
TEE_OPT=""; [ -n "$RES" ] && TEE_OPT="-a"
nice -n 10 $PY "$HERE/train.py" --work "$WORK" --steps "$STEPS" $RES 2>&1 | tee $TEE_OPT "$WORK/train.log"

echo "== 4. export + verify"
$PY "$HERE/export_gguf.py" --work "$WORK" --out "$ROOT/models/splitstream-demo.gguf"
$PY "$HERE/verify_gguf.py" --work "$WORK" --gguf "$ROOT/models/splitstream-demo.gguf"
sha256sum "$ROOT/models/splitstream-demo.gguf"
