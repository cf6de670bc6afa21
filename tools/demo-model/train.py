# SPDX-License-Identifier: Apache-2.0
"""Trains the Splitstream demo model (small Llama) on the KJV training text.

Usage:
  python3 train.py --work DIR --steps N [--warmup W] [--decay-start S] [--stop-at K]
                   [--resume [--decay-from-ckpt-lr] [--eval-only]] [--bench K]

Reads DIR/train.txt, DIR/heldout.txt, DIR/tokenizer.json; writes DIR/ckpt.pt
(every --ckpt-every steps, on SIGTERM/SIGINT and at the end), DIR/metrics.json
and DIR/train.log lines on stdout.

Validation loss: the held-out text is encoded as one stream and cut into
non-overlapping windows w of 255 tokens; each window is scored with input
[BOS] + w[:-1] and targets w, so every held-out token is predicted exactly once
(the first token of a window sees only BOS). Loss is mean nats/token.
"""
import argparse
import json
import math
import os
import signal
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Config, Llama, generate_greedy  # noqa: E402
from tokenizer_bpe import Tokenizer  # noqa: E402

SEED = 1611
BATCH = 16
SEQ = 256
LR = 2e-3
MIN_LR_FRAC = 0.1
WEIGHT_DECAY = 0.1
BETAS = (0.9, 0.95)
GRAD_CLIP = 1.0


def lr_at(step, total, warmup, decay_start=None, peak=LR):
    """Linear warmup, then constant LR until decay_start (default: end of warmup),
    then cosine decay from `peak` (default LR) to MIN_LR_FRAC * LR at `total`."""
    if step < warmup:
        return LR * (step + 1) / warmup
    ds = warmup if decay_start is None else max(warmup, decay_start)
    if step < ds:
        return LR
    p = (step - ds) / max(1, total - ds)
    lo = LR * MIN_LR_FRAC
    return lo + (peak - lo) * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


def windows(ids, bos, seq):
    """Non-overlapping eval windows w of seq-1 tokens: x = [BOS] + w[:-1], y = w."""
    n = seq - 1
    xs, ys = [], []
    for s in range(0, len(ids), n):
        w = ids[s:s + n]
        if len(w) < 2:
            break
        xs.append(torch.tensor([bos] + w[:-1]))
        ys.append(torch.tensor(w))
    return xs, ys


@torch.no_grad()
def eval_loss(model, xs, ys, limit=None):
    model.eval()
    tot, n = 0.0, 0
    idx = range(len(xs)) if limit is None else range(min(limit, len(xs)))
    # group equal-length windows into batches
    batch_x, batch_y = [], []

    def flush():
        nonlocal tot, n
        if not batch_x:
            return
        logits = model(torch.stack(batch_x))
        y = torch.stack(batch_y)
        tot += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                               reduction="sum").item()
        n += y.numel()
        batch_x.clear()
        batch_y.clear()

    for i in idx:
        if batch_x and (len(xs[i]) != len(batch_x[0]) or len(batch_x) == 16):
            flush()
        batch_x.append(xs[i])
        batch_y.append(ys[i])
    flush()
    model.train()
    return tot / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.environ.get("WORK", "/tmp/demo-model"))
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--warmup", type=int, default=None, help="default: 5%% of steps")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--decay-start", type=int, default=None,
                    help="constant LR until this step, then cosine (default: right after warmup)")
    ap.add_argument("--stop-at", type=int, default=None,
                    help="save the checkpoint after this step and exit (phase of a longer run)")
    ap.add_argument("--decay-from-ckpt-lr", action="store_true",
                    help="with --resume: the cosine decay starts from the LR of the last "
                         "checkpointed step instead of the peak LR")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--eval-only", action="store_true",
                    help="with --resume: no training, only the final evaluation and sample")
    ap.add_argument("--bench", type=int, default=0, help="only time this many steps, then exit")
    args = ap.parse_args()

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    W = args.work
    tok = Tokenizer.load(os.path.join(W, "tokenizer.json"))
    with open(os.path.join(W, "train.txt"), encoding="utf-8") as f:
        train_ids = torch.tensor(tok.encode(f.read()), dtype=torch.long)
    with open(os.path.join(W, "heldout.txt"), encoding="utf-8") as f:
        held_ids = tok.encode(f.read())
    vx, vy = windows(held_ids, tok.bos_id, SEQ)
    # a fixed train subset of the same shape, for a train loss comparable to val loss
    g = torch.Generator().manual_seed(SEED + 1)
    starts = torch.randint(0, len(train_ids) - SEQ, (64,), generator=g).tolist()
    tx = [torch.cat([torch.tensor([tok.bos_id]), train_ids[s:s + SEQ - 2]]) for s in starts]
    ty = [train_ids[s:s + SEQ - 1] for s in starts]
    print(f"train tokens {len(train_ids)}, held-out tokens {len(held_ids)} "
          f"({len(vx)} eval windows)", flush=True)

    cfg = Config(vocab_size=len(tok.tokens))
    model = Llama(cfg)
    print(f"params {model.n_params()} config {cfg.to_dict()}", flush=True)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}], lr=LR, betas=BETAS)
    total = args.steps
    warmup = args.warmup if args.warmup is not None else max(10, total // 20)
    data_gen = torch.Generator().manual_seed(SEED)
    step = 0
    peak = LR
    elapsed_prev = 0.0
    ckpt_path = os.path.join(W, "ckpt.pt")
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        data_gen.set_state(ck["data_gen"])
        step = ck["step"]
        if args.decay_from_ckpt_lr:
            peak = ck["opt"]["param_groups"][0]["lr"]
        if args.warmup is None and "warmup" in ck:
            warmup = ck["warmup"]
        elapsed_prev = ck.get("elapsed", 0.0)
        print(f"resumed at step {step} (warmup {warmup}, total {total}, "
              f"decay_start {args.decay_start}, decay from lr {peak:.6g})", flush=True)

    t0 = time.time()

    def save(tag=""):
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "data_gen": data_gen.get_state(), "config": cfg.to_dict(),
                    "total_steps": total, "warmup": warmup, "elapsed": elapsed_prev + time.time() - t0}, tmp)
        os.replace(tmp, ckpt_path)
        print(f"checkpoint saved at step {step} {tag}", flush=True)

    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if args.eval_only:
        stop["flag"] = True
    model.train()
    hist = []
    n_bench = 0
    while step < total and not stop["flag"]:
        lr = lr_at(step, total, warmup, args.decay_start, peak)
        for gp in opt.param_groups:
            gp["lr"] = lr
        ix = torch.randint(0, len(train_ids) - SEQ, (BATCH,), generator=data_gen)
        chunk = torch.stack([train_ids[i:i + SEQ] for i in ix.tolist()])
        x = torch.cat([torch.full((BATCH, 1), tok.bos_id), chunk[:, :-1]], dim=1)
        y = chunk
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        step += 1
        hist.append(loss.item())
        el = elapsed_prev + time.time() - t0
        if step % args.log_every == 0 or step == total:
            print(f"step {step}/{total} loss {sum(hist[-args.log_every:]) / len(hist[-args.log_every:]):.4f} "
                  f"lr {lr:.2e} elapsed {el:.0f}s ({(time.time() - t0) / len(hist):.2f} s/step)",
                  flush=True)
        if args.bench:
            n_bench += 1
            if n_bench >= args.bench:
                print(f"bench: {(time.time() - t0) / n_bench:.3f} s/step", flush=True)
                return
            continue
        if step % args.eval_every == 0 and step < total:
            vl = eval_loss(model, vx, vy, limit=32)
            print(f"step {step} val_loss(32 windows) {vl:.4f}", flush=True)
        if step % args.ckpt_every == 0:
            save()
        if args.stop_at is not None and step >= args.stop_at:
            break
    if not args.eval_only:
        save("(final)" if step >= total else "(interrupted)")
    if args.stop_at is not None and step >= args.stop_at and step < total:
        print(f"stopped at step {step} (--stop-at)", flush=True)
        return
    train_time = elapsed_prev + time.time() - t0

    vl = eval_loss(model, vx, vy)
    tl = eval_loss(model, tx, ty)
    prompt = "And it came to pass"
    out = generate_greedy(model, tok.encode(prompt, add_bos=True), 60)
    sample = tok.decode(out[1:])
    metrics = {"steps": step, "total_steps": total, "train_time_s": round(train_time, 1),
               "seed": SEED, "batch": BATCH, "seq": SEQ, "lr": LR, "warmup": warmup,
               "params": model.n_params(), "train_tokens": len(train_ids),
               "heldout_tokens": len(held_ids),
               "final_train_loss": round(tl, 4), "final_val_loss": round(vl, 4),
               "final_val_ppl": round(math.exp(vl), 3),
               "last50_batch_loss": round(sum(hist[-50:]) / len(hist[-50:]), 4) if hist else None,
               "greedy_sample": sample, "torch": torch.__version__}
    with open(os.path.join(W, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    print(f"FINAL steps {step} train_time {train_time:.0f}s train_loss {tl:.4f} "
          f"val_loss {vl:.4f} val_ppl {math.exp(vl):.3f}", flush=True)
    print(f"greedy sample: {sample!r}", flush=True)


if __name__ == "__main__":
    main()
