# SPDX-License-Identifier: Apache-2.0
"""Byte-level BPE (GPT-2 style) tokenizer: training and encoding.

The encoding is meant to match a GGUF tokenizer with tokenizer.ggml.model="gpt2"
and tokenizer.ggml.pre="llama-bpe": the text is split with the llama3 pre-tokenizer
regex, each pre-token is mapped to bytes -> GPT-2 unicode symbols, and merges are
applied by rank (lowest rank first, leftmost occurrence first) inside each pre-token.

Training works on the counts of unique pre-tokens with incremental pair-count updates.
Ties between equally frequent pairs are broken by the lexicographically smallest pair,
so the result is fully deterministic.

Usage:
  python3 tokenizer_bpe.py train TRAIN_TXT OUT_JSON [VOCAB_SIZE]
"""
import heapq
import json
import sys
from collections import Counter, defaultdict

import regex

# llama3 / "llama-bpe" pre-tokenizer regex (as in llama.cpp LLAMA_VOCAB_PRE_TYPE_LLAMA3)
LLAMA3_PAT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
              r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
PAT = regex.compile(LLAMA3_PAT)

SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"]
TOKEN_TYPE_NORMAL = 1
TOKEN_TYPE_CONTROL = 3


def bytes_to_unicode():
    """The standard GPT-2 byte -> unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) \
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENCODER = bytes_to_unicode()
BYTE_DECODER = {v: k for k, v in BYTE_ENCODER.items()}


def pretokenize(text):
    return PAT.findall(text)


def to_symbols(pretoken):
    return tuple(BYTE_ENCODER[b] for b in pretoken.encode("utf-8"))


def train_bpe(text, vocab_size):
    """Returns (tokens, token_types, merges). tokens[i] is the GPT-2-unicode string of id i."""
    n_merges = vocab_size - 256 - len(SPECIAL_TOKENS)
    counts = Counter(pretokenize(text))
    words = [list(to_symbols(w)) for w in counts]
    freqs = [counts[w] for w in counts]

    pair_counts = defaultdict(int)
    pair_where = defaultdict(set)   # pair -> indices of words containing it
    for i, (w, f) in enumerate(zip(words, freqs)):
        for a, b in zip(w, w[1:]):
            pair_counts[(a, b)] += f
            pair_where[(a, b)].add(i)

    # lazy max-heap: entries (-count, pair); stale entries are skipped
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)

    merges = []
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        c = pair_counts.get(pair, 0)
        if c <= 0:
            continue
        if -negc != c:
            heapq.heappush(heap, (-c, pair))
            continue
        merges.append(pair)
        a, b = pair
        new = a + b
        changed = set()
        for i in list(pair_where[pair]):
            w = words[i]
            f = freqs[i]
            # remove old pair counts of this word
            for x, y in zip(w, w[1:]):
                pair_counts[(x, y)] -= f
                changed.add((x, y))
            # merge (left to right, non-overlapping)
            out = []
            j = 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for x, y in zip(out, out[1:]):
                pair_counts[(x, y)] += f
                pair_where[(x, y)].add(i)
                changed.add((x, y))
        del pair_counts[pair]
        del pair_where[pair]
        changed.discard(pair)
        for p in changed:
            c = pair_counts.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
            elif p in pair_counts:
                del pair_counts[p]
                pair_where.pop(p, None)

    tokens = [BYTE_ENCODER[b] for b in range(256)]
    tokens += [a + b for a, b in merges]
    types = [TOKEN_TYPE_NORMAL] * len(tokens)
    tokens += SPECIAL_TOKENS
    types += [TOKEN_TYPE_CONTROL] * len(SPECIAL_TOKENS)
    assert len(tokens) == vocab_size, (len(tokens), vocab_size)
    assert len(set(tokens)) == len(tokens), "duplicate token strings"
    return tokens, types, [a + " " + b for a, b in merges]


class Tokenizer:
    def __init__(self, tokens, types, merges):
        self.tokens = tokens
        self.types = types
        self.merges = merges
        self.tok2id = {t: i for i, t in enumerate(tokens)}
        self.ranks = {tuple(m.split(" ")): r for r, m in enumerate(merges)}
        self.cache = {}
        self.bos_id = self.tok2id["<|begin_of_text|>"]
        self.eos_id = self.tok2id["<|end_of_text|>"]

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        return cls(d["tokens"], d["token_types"], d["merges"])

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"tokens": self.tokens, "token_types": self.types, "merges": self.merges},
                      f, ensure_ascii=False)

    def bpe(self, pretoken):
        ids = self.cache.get(pretoken)
        if ids is not None:
            return ids
        syms = list(to_symbols(pretoken))
        ranks = self.ranks
        while len(syms) > 1:
            best = None
            best_rank = None
            for j in range(len(syms) - 1):
                r = ranks.get((syms[j], syms[j + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best_rank = r
                    best = (syms[j], syms[j + 1])
            if best is None:
                break
            out = []
            j = 0
            while j < len(syms):
                if j + 1 < len(syms) and syms[j] == best[0] and syms[j + 1] == best[1]:
                    out.append(best[0] + best[1])
                    j += 2
                else:
                    out.append(syms[j])
                    j += 1
            syms = out
        ids = [self.tok2id[s] for s in syms]
        self.cache[pretoken] = ids
        return ids

    def encode(self, text, add_bos=False):
        """Encodes plain text (special-token strings are not parsed)."""
        ids = [self.bos_id] if add_bos else []
        for p in pretokenize(text):
            ids.extend(self.bpe(p))
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            t = self.tokens[i]
            if self.types[i] == TOKEN_TYPE_CONTROL:
                out += t.encode("utf-8")
            else:
                out += bytes(BYTE_DECODER[c] for c in t)
        return out.decode("utf-8", errors="replace")


def main():
    if len(sys.argv) < 4 or sys.argv[1] != "train":
        print(__doc__)
        sys.exit(2)
    vocab_size = int(sys.argv[4]) if len(sys.argv) > 4 else 3072
    with open(sys.argv[2], encoding="utf-8") as f:
        text = f.read()
    tokens, types, merges = train_bpe(text, vocab_size)
    tok = Tokenizer(tokens, types, merges)
    tok.save(sys.argv[3])
    ids = tok.encode(text)
    assert tok.decode(ids) == text, "round trip failed"
    print(f"tokenizer: vocab {len(tokens)}, merges {len(merges)}, "
          f"train text {len(text)} chars -> {len(ids)} tokens "
          f"({len(text) / len(ids):.2f} chars/token)")


if __name__ == "__main__":
    main()
