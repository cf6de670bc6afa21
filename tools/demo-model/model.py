# SPDX-License-Identifier: Apache-2.0
"""Small Llama-architecture model in PyTorch, written so that its weights map 1:1
onto the GGUF/llama.cpp "llama" layout with no permutation:

- RoPE rotates ADJACENT pairs (x[2i], x[2i+1]) by pos * base^(-2i/head_dim)
  (ggml rope type NORM, which llama uses for GGUF files);
- grouped-query attention: query head h reads KV head h // (n_head / n_kv_head);
- SwiGLU FFN: down(silu(gate(x)) * up(x)); RMSNorm with weight;
- output projection tied to the token embedding (no output.weight tensor).
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 3072
    dim: int = 256
    n_layers: int = 6
    n_heads: int = 8
    n_kv_heads: int = 4
    ffn_dim: int = 768
    norm_eps: float = 1e-5
    rope_base: float = 10000.0
    context_length: int = 512

    @property
    def head_dim(self):
        return self.dim // self.n_heads

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg, seq_len):
    hd = cfg.head_dim
    inv = cfg.rope_base ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)  # [hd/2]
    ang = torch.arange(seq_len, dtype=torch.float64)[:, None] * inv[None, :]     # [T, hd/2]
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rope(x, cos, sin):
    # x: [B, H, T, hd]; adjacent pairs (2i, 2i+1)
    x0 = x[..., 0::2]
    x1 = x[..., 1::2]
    r0 = x0 * cos - x1 * sin
    r1 = x0 * sin + x1 * cos
    return torch.stack((r0, r1), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        hd = cfg.head_dim
        self.attn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.wq = nn.Linear(cfg.dim, cfg.n_heads * hd, bias=False)
        self.wk = nn.Linear(cfg.dim, cfg.n_kv_heads * hd, bias=False)
        self.wv = nn.Linear(cfg.dim, cfg.n_kv_heads * hd, bias=False)
        self.wo = nn.Linear(cfg.n_heads * hd, cfg.dim, bias=False)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.w_gate = nn.Linear(cfg.dim, cfg.ffn_dim, bias=False)
        self.w_up = nn.Linear(cfg.dim, cfg.ffn_dim, bias=False)
        self.w_down = nn.Linear(cfg.ffn_dim, cfg.dim, bias=False)

    def forward(self, x, cos, sin, mask):
        cfg = self.cfg
        B, T, _ = x.shape
        hd = cfg.head_dim
        h = self.attn_norm(x)
        q = self.wq(h).view(B, T, cfg.n_heads, hd).transpose(1, 2)
        k = self.wk(h).view(B, T, cfg.n_kv_heads, hd).transpose(1, 2)
        v = self.wv(h).view(B, T, cfg.n_kv_heads, hd).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        rep = cfg.n_heads // cfg.n_kv_heads
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = att + mask
        att = F.softmax(att, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(B, T, cfg.n_heads * hd)
        x = x + self.wo(o)
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        cos, sin = rope_tables(cfg, cfg.context_length)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)
        for blk in self.layers:
            for lin in (blk.wo, blk.w_down):
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, idx):
        B, T = idx.shape
        x = self.tok_emb(idx)
        cos = self.rope_cos[:T]
        sin = self.rope_sin[:T]
        mask = torch.full((T, T), float("-inf"), device=idx.device).triu(1)
        for blk in self.layers:
            x = blk(x, cos, sin, mask)
        x = self.norm(x)
        return x @ self.tok_emb.weight.t()   # tied output

    def n_params(self):
        return sum(p.numel() for p in self.parameters())


def gguf_tensors(model):
    """(name, tensor) pairs in llama.cpp GGUF naming; Linear weights are [out, in]."""
    out = [("token_embd.weight", model.tok_emb.weight)]
    for i, b in enumerate(model.layers):
        p = f"blk.{i}."
        out += [(p + "attn_norm.weight", b.attn_norm.weight),
                (p + "attn_q.weight", b.wq.weight),
                (p + "attn_k.weight", b.wk.weight),
                (p + "attn_v.weight", b.wv.weight),
                (p + "attn_output.weight", b.wo.weight),
                (p + "ffn_norm.weight", b.ffn_norm.weight),
                (p + "ffn_gate.weight", b.w_gate.weight),
                (p + "ffn_up.weight", b.w_up.weight),
                (p + "ffn_down.weight", b.w_down.weight)]
    out.append(("output_norm.weight", model.norm.weight))
    return out


@torch.no_grad()
def generate_greedy(model, ids, n_new):
    model.eval()
    ids = list(ids)
    for _ in range(n_new):
        ctx = ids[-model.cfg.context_length:]
        logits = model(torch.tensor([ctx]))[0, -1]
        ids.append(int(torch.argmax(logits)))
    return ids
