# SPDX-License-Identifier: Apache-2.0
"""Turns `bible -f "gen1:1-rev22:21"` output (KJV, one verse per line with its
reference) into plain verse text, one verse per line, and splits it by order:
the first 95% of verses -> training text, the last 5% -> held-out validation text.

Usage: python3 prepare_data.py KJV_RAW TRAIN_TXT HELDOUT_TXT
"""
import re
import sys

raw, train_path, heldout_path = sys.argv[1:4]
ref = re.compile(r"^\S+\d+:\d+ ")
verses = []
with open(raw, encoding="utf-8") as f:
    for line in f:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        m = ref.match(line)
        if not m:
            raise SystemExit(f"unexpected line (no reference): {line[:80]!r}")
        verses.append(line[m.end():].strip())
n_held = round(len(verses) * 0.05)
train, held = verses[:-n_held], verses[-n_held:]
with open(train_path, "w", encoding="utf-8") as f:
    f.write("".join(v + "\n" for v in train))
with open(heldout_path, "w", encoding="utf-8") as f:
    f.write("".join(v + "\n" for v in held))
print(f"verses: {len(verses)} total, {len(train)} train, {len(held)} held-out "
      f"(held-out starts with: {held[0][:60]!r})")
