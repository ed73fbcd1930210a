#!/usr/bin/env python3
"""The reference workload of tools/bench/src/reference.ts in PyTorch, op for op.

A decoder-only transformer (width 128, 4 layers, 4 heads, sequence 96, batch 64, vocabulary 64;
pre-norm blocks, 4x ReLU MLP, causal mask, softmax cross-entropy, one-hot matmul embedding)
timed for one forward + backward + Adam step, and greedy decoding of 16 tokens for 64 sequences
(full recompute per token, no cache). Prints one JSON object (and writes it to --json).

    /usr/bin/python3 tools/bench/torch/reference.py [--reps 3] [--threads 2] [--json out.json]
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

WIDTH, LAYERS, HEADS, SEQ, BATCH, VOCAB = 128, 4, 4, 96, 64, 64
DECODE_TOKENS = 16


def token(b: int, t: int) -> int:
    i = b * SEQ + t
    return (i * 7 + b * 3) % VOCAB


class Reference:
    def __init__(self, seed: int = 1):
        g = torch.Generator().manual_seed(seed)
        d = WIDTH

        def init(shape, std):
            return (torch.randn(*shape, generator=g) * std).requires_grad_()

        def ones(n):
            return torch.ones(n, requires_grad=True)

        def zeros(n):
            return torch.zeros(n, requires_grad=True)

        self.emb = init((VOCAB, d), 0.05)
        self.pos = init((SEQ, d), 0.05)
        self.blocks = [
            dict(
                g1=ones(d), b1=zeros(d),
                wqkv=init((d, 3 * d), 1 / math.sqrt(d)), wo=init((d, d), 1 / math.sqrt(d)),
                g2=ones(d), b2=zeros(d),
                w1=init((d, 4 * d), 1 / math.sqrt(d)), c1=zeros(4 * d),
                w2=init((4 * d, d), 1 / math.sqrt(4 * d)), c2=zeros(d),
            )
            for _ in range(LAYERS)
        ]
        self.gf, self.bf = ones(d), zeros(d)
        self.head = init((d, VOCAB), 1 / math.sqrt(d))
        self.params = [self.emb, self.pos, self.gf, self.bf, self.head] + [
            p for blk in self.blocks for p in blk.values()
        ]
        stream = torch.tensor([token(b, t) for b in range(BATCH) for t in range(SEQ)])
        self.inputs = torch.nn.functional.one_hot(stream, VOCAB).float()
        rows = stream.view(BATCH, SEQ)
        self.targets = torch.cat([rows[:, 1:], rows[:, :1]], 1).reshape(-1)
        self.mask = (torch.tril(torch.ones(SEQ, SEQ)) - 1) * 1e9
        self.opt = torch.optim.Adam(self.params, lr=1e-3)

    @staticmethod
    def norm(x, g, b):
        # PyTorch's own fused layer norm (what nn.LayerNorm runs), as the tfjs side uses its
        # fused layerNorm op: each stack at its best.
        return torch.nn.functional.layer_norm(x, (x.shape[-1],), g, b, 1e-5)

    def forward(self, one_hot, rows, L):
        d, dh = WIDTH, WIDTH // HEADS
        x = ((one_hot @ self.emb).view(rows, L, d) + self.pos[:L]).reshape(rows * L, d)
        m = self.mask[:L, :L]
        for blk in self.blocks:
            h = self.norm(x, blk["g1"], blk["b1"])
            qkv = (h @ blk["wqkv"]).view(rows, L, 3, HEADS, dh).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            att = torch.softmax((q @ k.transpose(-1, -2)) * (1 / math.sqrt(dh)) + m, -1)
            o = (att @ v).permute(0, 2, 1, 3).reshape(rows * L, d)
            x = x + o @ blk["wo"]
            h2 = self.norm(x, blk["g2"], blk["b2"])
            mlp = torch.relu(h2 @ blk["w1"] + blk["c1"])
            x = x + (mlp @ blk["w2"] + blk["c2"])
        return self.norm(x, self.gf, self.bf) @ self.head

    def step(self) -> float:
        self.opt.zero_grad(set_to_none=True)
        logits = self.forward(self.inputs, BATCH, SEQ)
        loss = torch.nn.functional.cross_entropy(logits, self.targets)
        loss.backward()
        self.opt.step()
        return loss.item()

    @torch.no_grad()
    def decode(self, tokens: int = DECODE_TOKENS):
        P = SEQ - tokens
        rows = torch.tensor([[token(b, t) for t in range(P)] for b in range(BATCH)])
        for step in range(tokens):
            L = P + step
            one_hot = torch.nn.functional.one_hot(rows.reshape(-1), VOCAB).float()
            logits = self.forward(one_hot, BATCH, L).view(BATCH, L, VOCAB)[:, -1]
            rows = torch.cat([rows, logits.argmax(-1, keepdim=True)], 1)
        return rows[:, P:]


def blas_of_config(config: str) -> str:
    """BLAS_INFO from torch.__config__.show() ("generic" means the system libblas.so.3)."""
    import re

    m = re.search(r"BLAS_INFO=([^,\s]+)", config)
    return m.group(1) if m else "unknown"


def loaded_blas() -> list:
    """Shared BLAS libraries actually mapped into this process (what libblas.so.3 resolved to)."""
    try:
        with open(f"/proc/{os.getpid()}/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return sorted(os.path.realpath(p) for p in paths)
    except OSError:
        return []


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json")
    ap.add_argument("--no-decode", action="store_true", help="time training steps only")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = Reference()
    step_ms, decode_ms, losses = [], [], []
    for i in range(args.reps + 1):  # the first of each is a warm-up
        t0 = time.perf_counter()
        losses.append(model.step())
        if i > 0:
            step_ms.append((time.perf_counter() - t0) * 1000)
    for i in range(0 if args.no_decode else args.reps + 1):
        t0 = time.perf_counter()
        model.decode()
        if i > 0:
            decode_ms.append((time.perf_counter() - t0) * 1000)
    config = torch.__config__.show()
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas_of_config(config),
        "blasLoaded": loaded_blas(),
        "openblasCoretype": os.environ.get("OPENBLAS_CORETYPE"),
        "config": config,
        "stepMs": step_ms,
        "stepMedianMs": statistics.median(step_ms),
        "decodeMs": decode_ms,
        "decodeMedianMs": statistics.median(decode_ms) if decode_ms else None,
        "decodeTokensPerSecond": (
            BATCH * DECODE_TOKENS / (statistics.median(decode_ms) / 1000) if decode_ms else None
        ),
        "losses": losses,
    }
    text = json.dumps(out)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
