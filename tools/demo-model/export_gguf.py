# SPDX-License-Identifier: Apache-2.0
"""Writes the trained demo model as a GGUF v3 file (llama architecture, gpt2/llama-bpe
tokenizer). 2-D tensors are F16, 1-D (RMSNorm weights) F32; the output projection is
tied to token_embd, so there is no output.weight tensor.

Usage: python3 export_gguf.py --work DIR --out models/splitstream-demo.gguf
"""
import argparse
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Config, Llama, gguf_tensors  # noqa: E402
from tokenizer_bpe import Tokenizer  # noqa: E402

ALIGNMENT = 32

# GGUF metadata value types
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, \
    T_ARRAY, T_UINT64, T_INT64, T_FLOAT64 = range(13)
# ggml tensor types
GGML_F32, GGML_F16 = 0, 1

CHAT_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
                 "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
                 "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

_SCALAR_FMT = {T_UINT8: "<B", T_INT8: "<b", T_UINT16: "<H", T_INT16: "<h", T_UINT32: "<I",
               T_INT32: "<i", T_FLOAT32: "<f", T_BOOL: "<?", T_UINT64: "<Q", T_INT64: "<q",
               T_FLOAT64: "<d"}


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(vtype, v):
    if vtype == T_STRING:
        return _str(v)
    return struct.pack(_SCALAR_FMT[vtype], v)


class GGUFWriter:
    def __init__(self):
        self.kv = []        # (key, type, value, elem_type)
        self.tensors = []   # (name, np.ndarray, ggml_type)

    def add(self, key, vtype, value):
        self.kv.append((key, vtype, value, None))

    def add_array(self, key, elem_type, values):
        self.kv.append((key, T_ARRAY, values, elem_type))

    def add_tensor(self, name, arr, ggml_type):
        self.tensors.append((name, arr, ggml_type))

    def write(self, path):
        out = bytearray()
        out += b"GGUF" + struct.pack("<I", 3)
        out += struct.pack("<QQ", len(self.tensors), len(self.kv))
        for key, vtype, value, et in self.kv:
            out += _str(key) + struct.pack("<I", vtype)
            if vtype == T_ARRAY:
                out += struct.pack("<IQ", et, len(value))
                for v in value:
                    out += _value(et, v)
            else:
                out += _value(vtype, value)
        datas = []
        offset = 0
        for name, arr, gt in self.tensors:
            arr = np.ascontiguousarray(arr.astype("<f2" if gt == GGML_F16 else "<f4"))
            dims = list(reversed(arr.shape))           # ggml order: ne[0] = row length
            out += _str(name) + struct.pack("<I", len(dims))
            for d in dims:
                out += struct.pack("<Q", d)
            out += struct.pack("<IQ", gt, offset)
            b = arr.tobytes()
            datas.append((offset, b))
            offset += len(b)
            offset += (-offset) % ALIGNMENT
        out += b"\0" * ((-len(out)) % ALIGNMENT)
        data_start = len(out)
        for off, b in datas:
            out += b"\0" * (data_start + off - len(out))
            out += b
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(out)
        os.replace(tmp, path)
        return len(out)


def load_model(work):
    ck = torch.load(os.path.join(work, "ckpt.pt"), map_location="cpu")
    cfg = Config(**ck["config"])
    model = Llama(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.environ.get("WORK", "/tmp/demo-model"))
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    model, ck = load_model(args.work)
    cfg = model.cfg
    tok = Tokenizer.load(os.path.join(args.work, "tokenizer.json"))
    assert len(tok.tokens) == cfg.vocab_size

    w = GGUFWriter()
    w.add("general.architecture", T_STRING, "llama")
    w.add("general.name", T_STRING, "splitstream-demo")
    w.add("general.file_type", T_UINT32, 1)            # mostly F16
    w.add("general.alignment", T_UINT32, ALIGNMENT)
    w.add("general.license", T_STRING, "Apache-2.0 (recipe); training text public domain (KJV)")
    w.add("llama.context_length", T_UINT32, cfg.context_length)
    w.add("llama.embedding_length", T_UINT32, cfg.dim)
    w.add("llama.block_count", T_UINT32, cfg.n_layers)
    w.add("llama.feed_forward_length", T_UINT32, cfg.ffn_dim)
    w.add("llama.attention.head_count", T_UINT32, cfg.n_heads)
    w.add("llama.attention.head_count_kv", T_UINT32, cfg.n_kv_heads)
    w.add("llama.rope.dimension_count", T_UINT32, cfg.head_dim)
    w.add("llama.rope.freq_base", T_FLOAT32, cfg.rope_base)
    w.add("llama.attention.layer_norm_rms_epsilon", T_FLOAT32, cfg.norm_eps)
    w.add("llama.vocab_size", T_UINT32, cfg.vocab_size)
    w.add("tokenizer.ggml.model", T_STRING, "gpt2")
    w.add("tokenizer.ggml.pre", T_STRING, "llama-bpe")
    w.add_array("tokenizer.ggml.tokens", T_STRING, tok.tokens)
    w.add_array("tokenizer.ggml.token_type", T_INT32, tok.types)
    w.add_array("tokenizer.ggml.merges", T_STRING, tok.merges)
    w.add("tokenizer.ggml.bos_token_id", T_UINT32, tok.bos_id)
    w.add("tokenizer.ggml.eos_token_id", T_UINT32, tok.eos_id)
    w.add("tokenizer.ggml.add_bos_token", T_BOOL, True)
    w.add("tokenizer.ggml.add_eos_token", T_BOOL, False)
    w.add("tokenizer.chat_template", T_STRING, CHAT_TEMPLATE)

    for name, t in gguf_tensors(model):
        a = t.detach().cpu().float().numpy()
        w.add_tensor(name, a, GGML_F16 if a.ndim == 2 else GGML_F32)
    n = w.write(args.out)
    print(f"wrote {args.out}: {n} bytes, {len(w.tensors)} tensors, {len(w.kv)} kv, "
          f"step {ck['step']}/{ck.get('total_steps')}")


if __name__ == "__main__":
    main()
