# SPDX-License-Identifier: Apache-2.0
"""Independent checks of the exported GGUF file.

1. Re-reads the file with a separate minimal GGUF parser (header, kv, tensor infos,
   alignment) and checks metadata, tensor names, shapes and types.
2. Runs a pure-numpy forward pass from the GGUF tensors (RoPE NORM = adjacent pairs,
   GQA, SwiGLU, RMSNorm, tied output) and compares the logits for one prompt with
   the PyTorch model loaded from the checkpoint (fp32 weights, and F16-rounded weights).
3. Re-encodes the held-out text with a second BPE implementation that follows
   llama.cpp's algorithm (priority queue of adjacent symbol pairs ordered by merge
   rank, then position) using only the tokens/merges stored in the GGUF, and checks
   it gives exactly the ids of tokenizer_bpe.Tokenizer.

Usage: python3 verify_gguf.py --work DIR --gguf models/splitstream-demo.gguf
"""
import argparse
import heapq
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_bpe import Tokenizer, pretokenize, BYTE_ENCODER  # noqa: E402
from export_gguf import load_model  # noqa: E402


def read_gguf(path):
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def rd(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def rstr():
        nonlocal pos
        n = rd("<Q")
        s = buf[pos:pos + n].decode("utf-8")
        pos += n
        return s

    fmts = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}

    def rval(t):
        if t == 8:
            return rstr()
        if t == 9:
            et = rd("<I")
            n = rd("<Q")
            return [rval(et) for _ in range(n)]
        return rd(fmts[t])

    assert buf[:4] == b"GGUF", "bad magic"
    pos = 4
    version = rd("<I")
    assert version == 3, version
    n_tensors, n_kv = rd("<Q"), rd("<Q")
    kv = {}
    for _ in range(n_kv):
        k = rstr()
        t = rd("<I")
        kv[k] = (t, rval(t))
    infos = []
    for _ in range(n_tensors):
        name = rstr()
        nd = rd("<I")
        dims = [rd("<Q") for _ in range(nd)]
        gt = rd("<I")
        off = rd("<Q")
        infos.append((name, dims, gt, off))
    align = kv.get("general.alignment", (4, 32))[1]
    data_start = pos + (-pos) % align
    tensors = {}
    for name, dims, gt, off in infos:
        assert off % align == 0, (name, off)
        dt = {0: "<f4", 1: "<f2"}[gt]
        n = int(np.prod(dims))
        a = np.frombuffer(buf, dtype=dt, count=n, offset=data_start + off)
        tensors[name] = (a.reshape(list(reversed(dims))).astype(np.float32), gt, dims)
    return kv, tensors, len(buf)


def numpy_forward(kv, T, ids):
    g = lambda k: kv[k][1]  # noqa: E731
    dim = g("llama.embedding_length")
    nl = g("llama.block_count")
    nh = g("llama.attention.head_count")
    nkv = g("llama.attention.head_count_kv")
    eps = g("llama.attention.layer_norm_rms_epsilon")
    base = g("llama.rope.freq_base")
    hd = dim // nh
    W = lambda n: T[n][0]  # noqa: E731

    def rms(x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w

    n = len(ids)
    x = W("token_embd.weight")[ids].astype(np.float64)        # [n, dim]
    inv = base ** (-np.arange(0, hd, 2) / hd)
    ang = np.arange(n)[:, None] * inv[None, :]
    cos, sin = np.cos(ang), np.sin(ang)

    def rope(v):  # v: [n, heads, hd], rotate adjacent pairs
        v0, v1 = v[..., 0::2], v[..., 1::2]
        c, s = cos[:, None, :], sin[:, None, :]
        out = np.empty_like(v)
        out[..., 0::2] = v0 * c - v1 * s
        out[..., 1::2] = v0 * s + v1 * c
        return out

    mask = np.triu(np.full((n, n), -np.inf), 1)
    for i in range(nl):
        p = f"blk.{i}."
        h = rms(x, W(p + "attn_norm.weight"))
        q = rope((h @ W(p + "attn_q.weight").T).reshape(n, nh, hd))
        k = rope((h @ W(p + "attn_k.weight").T).reshape(n, nkv, hd))
        v = (h @ W(p + "attn_v.weight").T).reshape(n, nkv, hd)
        o = np.zeros((n, nh, hd))
        for hh in range(nh):
            kh = hh // (nh // nkv)
            s = q[:, hh, :] @ k[:, kh, :].T / np.sqrt(hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            o[:, hh, :] = s @ v[:, kh, :]
        x = x + o.reshape(n, nh * hd) @ W(p + "attn_output.weight").T
        h = rms(x, W(p + "ffn_norm.weight"))
        gt = h @ W(p + "ffn_gate.weight").T
        up = h @ W(p + "ffn_up.weight").T
        x = x + (gt / (1 + np.exp(-gt)) * up) @ W(p + "ffn_down.weight").T
    x = rms(x, W("output_norm.weight"))
    out_w = W("output.weight") if "output.weight" in T else W("token_embd.weight")
    return x @ out_w.T


def llamacpp_style_encode(text, tokens, merges):
    """Second BPE implementation, following llama.cpp's llm_tokenizer_bpe_session."""
    tok2id = {t: i for i, t in enumerate(tokens)}
    ranks = {tuple(m.split(" ", 1)): r for r, m in enumerate(merges)}
    ids = []
    for word in pretokenize(text):
        syms = [BYTE_ENCODER[b] for b in word.encode("utf-8")]
        n = len(syms)
        prev = list(range(-1, n - 1))
        nxt = list(range(1, n + 1))
        nxt[-1] = -1
        alive = [True] * n
        q = []

        def add(l, r):
            if l < 0 or r < 0:
                return
            rk = ranks.get((syms[l], syms[r]))
            if rk is not None:
                heapq.heappush(q, (rk, l, syms[l] + syms[r], r))

        for j in range(n - 1):
            add(j, j + 1)
        while q:
            rk, l, text_lr, r = heapq.heappop(q)
            if not alive[l] or not alive[r] or nxt[l] != r or syms[l] + syms[r] != text_lr:
                continue  # outdated bigram
            syms[l] = text_lr
            alive[r] = False
            nxt[l] = nxt[r]
            if nxt[r] >= 0:
                prev[nxt[r]] = l
            add(prev[l], l)
            add(l, nxt[l])
        j = 0
        while j != -1 and j < n:
            ids.append(tok2id[syms[j]])
            j = nxt[j]
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.environ.get("WORK", "/tmp/demo-model"))
    ap.add_argument("--gguf", required=True)
    args = ap.parse_args()
    torch.set_num_threads(2)

    kv, T, size = read_gguf(args.gguf)
    print(f"read {args.gguf}: {size} bytes, {len(T)} tensors, {len(kv)} kv")
    assert size <= 16 * 1024 * 1024, "file larger than 16 MB"
    g = lambda k: kv[k][1]  # noqa: E731
    assert g("general.architecture") == "llama"
    assert g("tokenizer.ggml.model") == "gpt2" and g("tokenizer.ggml.pre") == "llama-bpe"
    tokens = g("tokenizer.ggml.tokens")
    types = g("tokenizer.ggml.token_type")
    merges = g("tokenizer.ggml.merges")
    assert len(tokens) == len(types) == g("llama.vocab_size")
    assert tokens[g("tokenizer.ggml.bos_token_id")] == "<|begin_of_text|>"
    assert tokens[g("tokenizer.ggml.eos_token_id")] == "<|end_of_text|>"
    assert kv["tokenizer.ggml.add_bos_token"] == (7, True)
    n_params = 0
    for name, (a, gt, dims) in T.items():
        assert gt == (1 if a.ndim == 2 else 0), (name, gt)
        n_params += a.size
    assert "output.weight" not in T
    assert T["token_embd.weight"][2] == [g("llama.embedding_length"), g("llama.vocab_size")]
    assert T["blk.0.attn_k.weight"][2] == [256, 128]
    assert T["blk.0.ffn_down.weight"][2] == [768, 256]
    print(f"metadata/tensor checks ok; parameters in file: {n_params}")
    for k in sorted(kv):
        t, v = kv[k]
        if t == 9:
            print(f"  {k}: array[{len(v)}] {v[:5]}...")
        else:
            print(f"  {k}: {v!r}")

    # tokenizer cross-check
    work_tok = Tokenizer.load(os.path.join(args.work, "tokenizer.json"))
    assert work_tok.tokens == tokens and work_tok.merges == merges and work_tok.types == types
    with open(os.path.join(args.work, "heldout.txt"), encoding="utf-8") as f:
        held = f.read()
    a = work_tok.encode(held)
    b = llamacpp_style_encode(held, tokens, merges)
    assert a == b, "tokenizer implementations disagree"
    print(f"tokenizer cross-check ok: held-out text -> {len(a)} tokens with both implementations")

    # forward pass cross-check
    model, _ = load_model(args.work)
    prompt = "And it came to pass"
    ids = work_tok.encode(prompt, add_bos=True)
    with torch.no_grad():
        ref = model(torch.tensor([ids]))[0].double().numpy()
        for p in model.parameters():
            if p.dim() == 2:
                p.copy_(p.half().float())
        ref16 = model(torch.tensor([ids]))[0].double().numpy()
    got = numpy_forward(kv, T, ids)
    d32 = np.abs(got - ref).max()
    d16 = np.abs(got - ref16).max()
    print(f"prompt ids {ids}")
    print(f"numpy(GGUF) vs PyTorch fp32 logits: max abs diff {d32:.3e}; "
          f"vs PyTorch with F16-rounded weights: {d16:.3e}")
    print(f"argmax next token: numpy {tokens[int(got[-1].argmax())]!r}, "
          f"torch {tokens[int(ref[-1].argmax())]!r}")
    assert d16 < 1e-3, d16
    assert d32 < 5e-2, d32
    print("VERIFY OK")


if __name__ == "__main__":
    main()
