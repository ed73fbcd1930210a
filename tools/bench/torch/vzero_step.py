#!/usr/bin/env python3
"""The default V-Zero training step in PyTorch: a peer of the toolkit's step for timing.

Same models (the student and teacher presets, weights from the toolkit's export), same G, the
same stages: G rollouts per prompt by KV-cached sampling, the teacher's positive and negative
replays in one teacher-forced pass that encodes each prompt's full image once (both views and
all G rollouts share it), the reference gate, and the update in mini-batches (k1 estimator,
PPO-clipped policy gradient, token-mean, global-norm clipping, AdamW). PyTorch's fused ops where
they exist (F.layer_norm, torch.addmm, F.log_softmax, F.embedding, clip_grad_norm_, AdamW with
foreach); PyTorch 1.13 has no fused attention, so attention is matmul, softmax, matmul.

    npx tsx tools/bench/src/vzero-peer.ts export /tmp/vzpeer        # the toolkit's step -> step.json
    /usr/bin/python3 tools/bench/torch/vzero_step.py /tmp/vzpeer/step.json --check
    /usr/bin/python3 tools/bench/torch/vzero_step.py /tmp/vzpeer/step.json --steps 6 --threads 2

--check recomputes the toolkit's step from the same weights and rollouts and compares: the
student's log-probs of the rollouts (KV-cached decoding and the full pass), the teacher's l+ and
l-, the gate weights, each mini-batch's loss and gradient norm and the updated weights; it exits
1 when one is beyond tolerance. Without --check it times --steps steps (the first warms up) and
prints one JSON line of median per-stage milliseconds.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

MASKED = -1e9


class Model:
    """The toolkit's VisionLanguageModel (packages/model/src/model.ts), op for op."""

    def __init__(self, config, weights, trainable=False):
        self.c = config
        self.d, self.H, self.depth = config["width"], config["heads"], config["depth"]
        self.slots = config["images"]
        if config.get("stemPatch", 0):
            raise SystemExit("vzero_step.py: models with a patch stem are not supported")
        self.p = {
            name: torch.tensor(w["data"], dtype=torch.float32).view(*w["shape"]).requires_grad_(trainable)
            for name, w in weights.items()
        }

    def params(self):
        return list(self.p.values())

    def linear(self, x, w, b, relu=False):
        y = torch.addmm(self.p[b], x, self.p[w])
        return torch.relu(y) if relu else y

    def norm(self, x, g, b):
        return F.layer_norm(x, (self.d,), self.p[g], self.p[b], 1e-5)

    def forward_chunk(self, x, past, mask):
        """New tokens x [B, Tn, d] after `past` (per layer (k, v) [B, H, L, dh]) under mask."""
        B, Tn, d = x.shape
        H, dh = self.H, d // self.H
        scale = 1 / math.sqrt(dh)
        cache = []
        h = x
        for layer in range(self.depth):
            pre = f"block{layer}."
            a = self.norm(h, pre + "ln1_g", pre + "ln1_b").reshape(B * Tn, d)
            q = self.linear(a, pre + "wq", pre + "bq").view(B, Tn, H, dh).transpose(1, 2)
            k = self.linear(a, pre + "wk", pre + "bk").view(B, Tn, H, dh).transpose(1, 2)
            v = self.linear(a, pre + "wv", pre + "bv").view(B, Tn, H, dh).transpose(1, 2)
            if past is not None:
                k = torch.cat([past[layer][0], k], 2)
                v = torch.cat([past[layer][1], v], 2)
            cache.append((k, v))
            scores = torch.matmul(q, k.transpose(-1, -2)) * scale
            if mask is not None:
                scores = scores + mask
            att = torch.matmul(torch.softmax(scores, -1), v).transpose(1, 2).reshape(B * Tn, d)
            h = h + self.linear(att, pre + "wo", pre + "bo").view(B, Tn, d)
            f = self.norm(h, pre + "ln2_g", pre + "ln2_b").reshape(B * Tn, d)
            mlp = self.linear(self.linear(f, pre + "w1", pre + "b1", True), pre + "w2", pre + "b2")
            h = h + mlp.view(B, Tn, d)
        return self.norm(h, "lnf_g", "lnf_b"), cache

    def logprobs(self, hidden):
        B, T, d = hidden.shape
        return F.log_softmax(torch.matmul(hidden.reshape(B * T, d), self.p["tok_emb"].t()), -1).view(B, T, -1)

    def embed_images(self, patches, slot):
        """patches [U, N, p*p*3] of slot `slot` -> [U, N, d]."""
        U, N, P = patches.shape
        role = 0 if self.slots[slot]["role"] == "full" else 1
        tokens = self.linear(patches.reshape(U * N, P), "patch_w", "patch_b").view(U, N, self.d)
        return tokens + self.p[f"slot{slot}_pos"] + self.p["view_emb"][role]

    def embed_text(self, layout):
        return F.embedding(layout["ids"], self.p["tok_emb"]) + F.embedding(layout["positions"], self.p["text_pos"])

    def prefix_groups(self):
        groups = []
        for s, slot in enumerate(self.slots):
            groups += [s] * (slot["size"] // self.c["patchSize"]) ** 2
        return groups


def text_layout(prompts, responses):
    """The toolkit's textLayout: left-padded prompts, then right-padded responses."""
    rows = len(prompts)
    pw = max([1] + [len(p) for p in prompts])
    rw = max([0] + [len(r) for r in responses])
    cols = pw + rw
    ids = torch.zeros(rows, cols, dtype=torch.long)
    pos = torch.zeros(rows, cols, dtype=torch.long)
    valid = torch.zeros(rows, cols, dtype=torch.bool)
    for b, (p, r) in enumerate(zip(prompts, responses)):
        off = pw - len(p)
        ids[b, off:pw] = torch.tensor(p)
        pos[b, off:pw] = torch.arange(len(p))
        valid[b, off:pw] = True
        if r:
            ids[b, pw : pw + len(r)] = torch.tensor(r)
            pos[b, pw : pw + len(r)] = torch.arange(len(p), len(p) + len(r))
            valid[b, pw : pw + len(r)] = True
    return {"rows": rows, "columns": cols, "promptWidth": pw, "responseWidth": rw, "ids": ids, "positions": pos, "valid": valid}


def block_causal_mask(groups, valid, queries, text_group):
    """Additive mask [B, 1, queries, L]: the toolkit's blockCausalMask, vectorised."""
    L = valid.shape[1]
    g = torch.tensor(groups)
    qi = torch.arange(L - queries, L)
    qg = g[qi]
    k = torch.arange(L)
    same = (g[None, :] == qg[:, None]) & ((qg[:, None] < text_group) | (k[None, :] <= qi[:, None]))
    allowed = ((g[None, :] < qg[:, None]) | same)[None] & valid[:, None, :]
    return torch.where(allowed, 0.0, MASKED).unsqueeze(1)


def unique_rows(keys):
    order, index = [], {}
    for key in keys:
        if key not in index:
            index[key] = len(order)
            order.append(key)
    return order, [index[key] for key in keys]


def encode_prefix(model, prompts):
    """Each distinct chain of images (by id) encoded once; rows in prompt order."""
    cache, chains, unique = None, ["" for _ in prompts], []
    for s in range(len(model.slots)):
        keys = [f"{chains[r]}|{p['images'][s]['id']}" for r, p in enumerate(prompts)]
        order, _ = unique_rows(keys)
        first = [keys.index(k) for k in order]
        patches = torch.stack([prompts[r]["patch_tensors"][s] for r in first])
        past = None
        if cache is not None:
            rows = torch.tensor([unique.index(chains[r]) for r in first])
            past = [(k.index_select(0, rows), v.index_select(0, rows)) for k, v in cache]
        _, cache = model.forward_chunk(model.embed_images(patches, s), past, None)
        unique, chains = order, keys
    rows = torch.tensor([unique.index(c) for c in chains])
    return [(k.index_select(0, rows), v.index_select(0, rows)) for k, v in cache]


def cached_logprobs(model, prompts, responses, prefix):
    """Teacher-forced log-probs [B, T] of each response token after its prompt."""
    layout = text_layout([p["tokenIds"] for p in prompts], responses)
    groups = model.prefix_groups()
    tg = len(model.slots)
    valid = torch.cat([torch.ones(layout["rows"], len(groups), dtype=torch.bool), layout["valid"]], 1)
    mask = block_causal_mask(groups + [tg] * layout["columns"], valid, layout["columns"], tg)
    hidden, _ = model.forward_chunk(model.embed_text(layout), prefix, mask)
    pw, rw = layout["promptWidth"], layout["responseWidth"]
    lp = model.logprobs(hidden[:, pw - 1 : pw - 1 + rw])
    return pick(lp, responses)


def pick(lp, responses):
    B, T, _ = lp.shape
    ids = torch.zeros(B, T, dtype=torch.long)
    valid = torch.zeros(B, T)
    for b, r in enumerate(responses):
        ids[b, : len(r)] = torch.tensor(r)
        valid[b, : len(r)] = 1
    return lp.gather(2, ids.unsqueeze(-1)).squeeze(-1) * valid


def full_logprobs(model, prompts, responses):
    """The update's differentiable pass: no cache, every row encodes its own images."""
    layout = text_layout([p["tokenIds"] for p in prompts], responses)
    parts = [model.embed_images(torch.stack([p["patch_tensors"][s] for p in prompts]), s) for s in range(len(model.slots))]
    x = torch.cat(parts + [model.embed_text(layout)], 1)
    groups = model.prefix_groups()
    tg = len(model.slots)
    valid = torch.cat([torch.ones(layout["rows"], len(groups), dtype=torch.bool), layout["valid"]], 1)
    L = len(groups) + layout["columns"]
    hidden, _ = model.forward_chunk(x, None, block_causal_mask(groups + [tg] * layout["columns"], valid, L, tg))
    start = len(groups) + layout["promptWidth"] - 1
    return pick(model.logprobs(hidden[:, start : start + layout["responseWidth"]]), responses)


def rollout(model, prompts, G, max_tokens, eos, pad, generator=None, forced=None):
    """G responses per prompt by KV-cached sampling at temperature 1 (or teacher-forced `forced`
    token lists, for the check). Returns tokens and their log-probs per row (prompt-major)."""
    prefix = encode_prefix(model, prompts)
    layout = text_layout([p["tokenIds"] for p in prompts], [[] for _ in prompts])
    groups = model.prefix_groups()
    tg = len(model.slots)
    valid = torch.cat([torch.ones(len(prompts), len(groups), dtype=torch.bool), layout["valid"]], 1)
    keys = groups + [tg] * layout["columns"]
    hidden, cache = model.forward_chunk(model.embed_text(layout), prefix, block_causal_mask(keys, valid, layout["columns"], tg))
    lp = model.logprobs(hidden[:, -1:])[:, 0]
    rows = torch.arange(len(prompts)).repeat_interleave(G)
    cache = [(k.index_select(0, rows), v.index_select(0, rows)) for k, v in cache]
    valid, lp = valid.index_select(0, rows), lp.index_select(0, rows)
    positions = torch.tensor([len(prompts[r]["tokenIds"]) for r in rows.tolist()])
    n = len(rows)
    tokens, logprobs = [[] for _ in range(n)], [[] for _ in range(n)]
    active = torch.ones(n, dtype=torch.bool)
    for t in range(max_tokens):
        if forced is not None:
            nxt = torch.tensor([f[t] if t < len(f) else pad for f in forced])
        else:
            nxt = torch.multinomial(lp.exp(), 1, generator=generator).squeeze(1)
        chosen = lp.gather(1, nxt.unsqueeze(1)).squeeze(1)
        for b in range(n):
            if active[b]:
                tokens[b].append(int(nxt[b]))
                logprobs[b].append(float(chosen[b]))
        done = (nxt == eos) | ~active
        if forced is not None:
            done = done | torch.tensor([t + 1 >= len(f) for f in forced])
        active = active & ~done
        if t + 1 == max_tokens or not bool(active.any()):
            break
        keys.append(tg)
        valid = torch.cat([valid, active.unsqueeze(1)], 1)
        step = {"ids": torch.where(active, nxt, pad).unsqueeze(1), "positions": positions.clamp(max=model.c["maxTextLength"] - 1).unsqueeze(1)}
        hidden, cache = model.forward_chunk(model.embed_text(step), cache, block_causal_mask(keys, valid, 1, tg))
        positions = positions + active.long()
        lp = model.logprobs(hidden)[:, 0]
    return tokens, logprobs


def gate_weights(trajectories, positive, negative, cfg):
    """The reference gate (packages/gate/src/gate.ts) in float64."""
    scores = []
    for tr, lp, ln in zip(trajectories, positive, negative):
        total, count = 0.0, 0
        for k, m in enumerate(tr["mask"]):
            if m:
                delta = float(lp[k]) - float(ln[k])
                total += delta if delta > 0 else cfg["gamma"] * delta
                count += 1
        scores.append(total / max(count, cfg["eps"]))
    groups = {}
    for i, tr in enumerate(trajectories):
        groups.setdefault(tr["groupId"], []).append(i)
    weights = [0.0] * len(scores)
    for members in groups.values():
        adv = {i: 0.0 for i in members}
        if len(members) > 1:
            shift = scores[members[0]]
            mean = sum(scores[i] - shift for i in members) / len(members)
            sd = math.sqrt(sum((scores[i] - shift - mean) ** 2 for i in members) / len(members))
            adv = {i: (scores[i] - shift - mean) / (sd + cfg["eps"]) for i in members}
        for i in members:
            weights[i] = min(cfg["wMax"], max(cfg["wMin"], 1 + cfg["alpha"] * adv[i]))
    return weights


def opd_loss(student, old, teacher, mask, weights, cfg):
    """k1 estimator, PPO-clipped policy gradient, token-mean (packages/opd-loss)."""
    valid = mask > 0
    zero = torch.zeros_like(student)
    s, t, o = torch.where(valid, student, zero), torch.where(valid, teacher, zero), torch.where(valid, old, zero)
    ratio = torch.exp(torch.clamp(s - o, -cfg["logRatioClamp"], cfg["logRatioClamp"]))
    advantage = -(weights[:, None] * torch.clamp(s.detach() - t, -cfg["clamp"], cfg["clamp"]))
    neg_a = -advantage
    clipped = torch.maximum(neg_a * ratio, neg_a * torch.clamp(ratio, 1 - cfg["clipLow"], 1 + cfg["clipHigh"]))
    per = torch.where(advantage < 0, torch.minimum(clipped, neg_a * cfg["dualClip"]), clipped)
    per = torch.where(valid, per, zero)
    return per.sum() / valid.float().sum().clamp(min=1)


def pad_rows(rows, T):
    out = torch.zeros(len(rows), T)
    for b, r in enumerate(rows):
        out[b, : min(len(r), T)] = torch.tensor(r[:T], dtype=torch.float32)
    return out


class Step:
    def __init__(self, data):
        self.data = data
        self.student = Model(data["student"]["config"], data["student"]["weights"], trainable=True)
        self.teacher = Model(data["teacher"]["config"], data["teacher"]["weights"])
        for p in data["prompts"]:
            for view, model in (("student", self.student), ("positive", self.teacher), ("negative", self.teacher)):
                pr = p[view]
                pr["patch_tensors"] = [
                    torch.tensor(img["patches"], dtype=torch.float32).view(img["tokens"], -1) for img in pr["images"]
                ]
        self.by_id = {p["student"]["id"]: p for p in data["prompts"]}
        o = data["optim"]
        self.opt = torch.optim.AdamW(
            self.student.params(), lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"], weight_decay=o["weightDecay"], foreach=True
        )

    def rollout(self, generator=None, forced=None):
        size, tok = self.data["size"], self.data["tokenizer"]
        with torch.no_grad():
            return rollout(self.student, [p["student"] for p in self.data["prompts"]], size["g"], size["maxTokens"], tok["eosId"], tok["padId"], generator, forced)

    def replay(self, trajectories):
        """Both views of every rollout in one teacher-forced pass (prefix shared)."""
        requests, responses = [], []
        for view in ("positive", "negative"):
            for tr in trajectories:
                requests.append(self.by_id[tr["promptId"]][view])
                responses.append(tr["tokenIds"])
        with torch.no_grad():
            lp = cached_logprobs(self.teacher, requests, responses, encode_prefix(self.teacher, requests))
        n = len(trajectories)
        return [lp[i, : len(trajectories[i]["tokenIds"])] for i in range(n)], [lp[n + i, : len(trajectories[i]["tokenIds"])] for i in range(n)]

    def update(self, trajectories, positive, weights):
        """One pass in mini-batches of consecutive rows; returns (loss, grad norm, student log-probs) each."""
        n, parts = len(trajectories), min(self.data["size"]["miniBatches"], len(trajectories))
        out = []
        for p in range(parts):
            rows = list(range(n * p // parts, n * (p + 1) // parts))
            chunk = [trajectories[r] for r in rows]
            T = max(len(tr["tokenIds"]) for tr in chunk)
            prompts = [self.by_id[tr["promptId"]]["student"] for tr in chunk]
            s = full_logprobs(self.student, prompts, [tr["tokenIds"] for tr in chunk])
            loss = opd_loss(
                s,
                pad_rows([tr["logprobs"] for tr in chunk], T),
                pad_rows([positive[r].tolist() for r in rows], T),
                pad_rows([tr["mask"] for tr in chunk], T),
                torch.tensor([weights[r] for r in rows], dtype=torch.float32),
                self.data["loss"],
            )
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(self.student.params(), self.data["optim"]["gradClip"])
            self.opt.step()
            out.append((float(loss), float(norm), s.detach()))
        return out


def report(name, got, want, atol, rtol):
    got, want = torch.as_tensor(got, dtype=torch.float64), torch.as_tensor(want, dtype=torch.float64)
    err = (got - want).abs()
    excess = float((err - (atol + rtol * want.abs())).max())
    ok = excess <= 0
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max abs diff {float(err.max()):.3g} (atol {atol:g}, rtol {rtol:g})")
    return ok


def check(data):
    step = Step(data)
    trs = data["trajectories"]
    ok = True
    # The rollouts' log-probs through the KV-cached decoding path, fed the toolkit's tokens.
    _, lps = step.rollout(forced=[tr["tokenIds"] for tr in trs])
    ok &= report("rollout log-probs (KV cache)", [x for r in lps for x in r], [x for tr in trs for x in tr["logprobs"]], 1e-4, 1e-4)
    positive, negative = step.replay(trs)
    ok &= report("teacher l+", torch.cat(positive), [x for tr in trs for x in tr["positive"]], 1e-4, 1e-4)
    ok &= report("teacher l-", torch.cat(negative), [x for tr in trs for x in tr["negative"]], 1e-4, 1e-4)
    # The gate from the toolkit's l+ and l- (its own arithmetic), then from the peer's.
    w_ref = gate_weights(trs, [tr["positive"] for tr in trs], [tr["negative"] for tr in trs], data["gate"]["config"])
    ok &= report("gate weights (same log-probs)", w_ref, data["gate"]["weights"], 1e-9, 1e-9)
    w = gate_weights(trs, positive, negative, data["gate"]["config"])
    ok &= report("gate weights (peer's log-probs)", w, data["gate"]["weights"], 1e-3, 1e-3)
    # The update from the toolkit's teacher log-probs and weights: the inputs are the same.
    teacher_rows = [torch.tensor(tr["positive"]) for tr in trs]
    results = step.update(trs, teacher_rows, data["gate"]["weights"])
    for i, ((loss, norm, s), want) in enumerate(zip(results, data["updates"])):
        B, T = len(want["rows"]), want["T"]
        ok &= report(f"mini-batch {i} student log-probs", s.view(-1), torch.tensor(want["studentLogprobs"]).view(B, T).view(-1), 1e-4, 1e-4)
        ok &= report(f"mini-batch {i} loss", [loss], [want["loss"]], 1e-5, 1e-4)
        ok &= report(f"mini-batch {i} gradient norm", [norm], [want["gradNorm"]], 1e-5, 1e-3)
    updated = data["student"]["updated"]
    worst = max(float((step.student.p[k].detach() - torch.tensor(w["data"]).view(*w["shape"])).abs().max()) for k, w in updated.items())
    ok &= report("updated weights (max over all)", [worst], [0.0], 1e-4, 0)
    return ok


def timed(data, steps, seed):
    step = Step(data)
    g = torch.Generator().manual_seed(seed)
    tok = data["tokenizer"]
    stages = {k: [] for k in ("rollout", "teacher", "gate", "update", "total")}
    for i in range(steps):
        t0 = time.perf_counter()
        tokens, lps = step.rollout(generator=g)
        t1 = time.perf_counter()
        trs = []
        for r, (ids, lp) in enumerate(zip(tokens, lps)):
            p = data["prompts"][r // data["size"]["g"]]["student"]
            trs.append({"promptId": p["id"], "groupId": f"{p['id']}@{i}", "tokenIds": ids, "logprobs": lp, "mask": [1] * len(ids)})
        positive, negative = step.replay(trs)
        t2 = time.perf_counter()
        weights = gate_weights(trs, positive, negative, data["gate"]["config"])
        t3 = time.perf_counter()
        step.update(trs, positive, weights)
        t4 = time.perf_counter()
        if i == 0:
            continue  # warm-up
        for k, v in (("rollout", t1 - t0), ("teacher", t2 - t1), ("gate", t3 - t2), ("update", t4 - t3), ("total", t4 - t0)):
            stages[k].append(v * 1000)
    return {
        "stack": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "medianMs": {k: statistics.median(v) for k, v in stages.items()},
        "totalMs": stages["total"],
        "eos": tok["eosId"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("step_json")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with open(a.step_json) as f:
        data = json.load(f)
    if a.check:
        sys.exit(0 if check(data) else 1)
    print(json.dumps(timed(data, a.steps, a.seed)))


if __name__ == "__main__":
    main()
