#!/usr/bin/python3
"""PyTorch reference for the Java training-step benchmark: one step of a ~10M-parameter LLaMA-style decoder.

One step = forward + next-token cross-entropy + backward + clip_grad_norm_(1.0) + AdamW(betas (0.9, 0.95),
weight decay 0.01 on matrices only, not on norm weights). Random tokens, a fixed batch, float32, CPU.

    /usr/bin/python3 lib/src/test/python/bench_torch_train_step.py                   # default shape, settings 1x1,2x1,2x2
    /usr/bin/python3 lib/src/test/python/bench_torch_train_step.py --hidden-size 256 --num-hidden-layers 4 --steps 5
    /usr/bin/python3 lib/src/test/python/bench_torch_train_step.py --write-config bench.json   # shape for Java
    /usr/bin/python3 lib/src/test/python/bench_torch_train_step.py --config bench.json        # read it back
    /usr/bin/python3 lib/src/test/python/bench_torch_train_step.py --task generate            # greedy KV-cache decoding

With --task generate each setting times greedy decoding with a KV cache instead (the same model, gen_batch random
prompts of prompt_length tokens, new_tokens new tokens, one warm-up then the median of gen_reps; tokens_per_second =
gen_batch * new_tokens / median), as the kit's Generation does it.

Default shape: vocab 599 (BeaverWorld's tokenizer), hidden 384, 6 layers, 6 heads of 64, 2 KV heads (grouped-query),
SwiGLU intermediate 1024, RoPE theta 10000, RMSNorm eps 1e-6, untied lm_head: 9,902,208 parameters; batch 8 x 128.

Each thread setting runs in a fresh child process, because BLAS/OpenMP read their thread counts from the environment
when the library loads: torch.set_num_threads(n) plus OMP_NUM_THREADS / MKL_NUM_THREADS, and OPENBLAS_NUM_THREADS
as given by the setting (Debian's torch links libblas.so.3; OpenBLAS's own threads can fight torch's). stdout gets one
JSON line: the config, every setting's result, and the best; progress goes to stderr. ms_per_step is the median
over the timed steps (mean and min beside it) and tokens_per_second = batch_size * seq_len / median; load_average
(1 minute, at the end) shows whether other processes shared the cores. Environment variables reach the children,
e.g. OMP_WAIT_POLICY=PASSIVE.

BLAS matters more than threads: `apt-get install python3-torch` alone brings Debian's reference BLAS (libblas3,
about 4.5 GFLOP/s for a 1024x1024 matmul here), so install an OpenBLAS (see --blas) before timing anything.

Measured on this project's 2-core Debian 12 machine (PyTorch 1.13, default shape, median of 10-20 timed steps):
  quiet machine (1-minute load 0.2 to 1.1):
    openblas-openmp  1x1 / 2x1 / 2x2 ... 900 / 573 / 485 ms/step = 1,138 / 1,788 / 2,112 tokens/s (best: 2x2)
    openblas-pthread 2x1 / 2x2 ......... 863 / 1,517 ms/step (2x2: OpenBLAS's pthreads fight torch's OpenMP)
  shared machine (load 1.6 to 4): openblas-openmp 2x2 610-730 ms, 1x1 900-925 ms; pthread 2x2 about 1,480 ms;
    reference BLAS 1x1 (2 steps) 18,300 ms/step, 56 tokens/s.
  peak RSS about 770 MB.
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

DEFAULTS = dict(vocab_size=599, hidden_size=384, num_hidden_layers=6, num_attention_heads=6, num_key_value_heads=2,
                intermediate_size=1024, rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=False,
                batch_size=8, seq_len=128, lr=3e-4, betas=[0.9, 0.95], weight_decay=0.01, max_grad_norm=1.0,
                warmup_steps=3, steps=10, seed=0,
                task="train", gen_batch=8, prompt_length=16, new_tokens=128, gen_reps=3)
LIB = "/usr/lib/x86_64-linux-gnu"
# (torch threads, OpenBLAS threads)
SETTINGS = [(1, 1), (2, 1), (2, 2)]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="JSON file with any of the config keys (command-line flags override it)")
    p.add_argument("--write-config", help="write the resolved config as JSON to this file and exit")
    for key, value in DEFAULTS.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            p.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"), default=None)
        elif isinstance(value, list):
            p.add_argument(flag, type=float, nargs=len(value), default=None)
        else:
            p.add_argument(flag, type=type(value), default=None)
    p.add_argument("--settings", default=",".join(f"{t}x{b}" for t, b in SETTINGS),
                   help="torch threads x OpenBLAS threads, comma-separated (default %(default)s)")
    p.add_argument("--blas", default="auto",
                   help="which libblas.so.3 the children load: a folder name under /usr/lib/x86_64-linux-gnu put first "
                        "on LD_LIBRARY_PATH (openblas-openmp, openblas-pthread, blas = the reference BLAS), 'system' "
                        "(Debian's alternative as it is set), or 'auto' (default: openblas-openmp if installed, else "
                        "system). apt-get install -y libopenblas0-openmp libopenblas0-pthread")
    p.add_argument("--child", help=argparse.SUPPRESS)  # "TxB": run one setting in this process
    args = p.parse_args()
    config = dict(DEFAULTS)
    if args.config:
        with open(args.config) as f:
            config.update(json.load(f))
    for key in DEFAULTS:
        if getattr(args, key) is not None:
            config[key] = getattr(args, key)
    h, nh, nkv = config["hidden_size"], config["num_attention_heads"], config["num_key_value_heads"]
    if h % nh or nh % nkv or (h // nh) % 2:
        p.error(f"need hidden_size % heads == 0, heads % kv_heads == 0 and an even head_dim: {h}, {nh}, {nkv}")
    return args, config


# ---------------------------------------------------------------- the model (plain LLaMA math)

def build_model(c):
    import torch
    from torch import nn

    head_dim = c["hidden_size"] // c["num_attention_heads"]

    class RMSNorm(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(dim))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + c["rms_norm_eps"]) * self.weight

    def rotate_half(x):
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((-x2, x1), dim=-1)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            h, kv = c["hidden_size"], c["num_key_value_heads"] * head_dim
            self.input_layernorm, self.post_attention_layernorm = RMSNorm(h), RMSNorm(h)
            self.q_proj, self.k_proj = nn.Linear(h, h, bias=False), nn.Linear(h, kv, bias=False)
            self.v_proj, self.o_proj = nn.Linear(h, kv, bias=False), nn.Linear(h, h, bias=False)
            self.gate_proj = nn.Linear(h, c["intermediate_size"], bias=False)
            self.up_proj = nn.Linear(h, c["intermediate_size"], bias=False)
            self.down_proj = nn.Linear(c["intermediate_size"], h, bias=False)

        def forward(self, x, cos, sin, mask, cache=None):
            b, t, _ = x.shape
            nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
            a = self.input_layernorm(x)
            q = self.q_proj(a).view(b, t, nh, head_dim).transpose(1, 2)  # (B, H, T, D)
            k = self.k_proj(a).view(b, t, nkv, head_dim).transpose(1, 2)  # (B, KV, T, D)
            v = self.v_proj(a).view(b, t, nkv, head_dim).transpose(1, 2)
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            if cache is not None:  # incremental decoding: keys and values of earlier positions, after RoPE
                if "k" in cache:
                    k, v = torch.cat((cache["k"], k), dim=2), torch.cat((cache["v"], v), dim=2)
                cache["k"], cache["v"] = k, v
            k, v = k.repeat_interleave(nh // nkv, dim=1), v.repeat_interleave(nh // nkv, dim=1)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(head_dim) + mask, dim=-1)
            x = x + self.o_proj((att @ v).transpose(1, 2).reshape(b, t, -1))
            m = self.post_attention_layernorm(x)
            return x + self.down_proj(nn.functional.silu(self.gate_proj(m)) * self.up_proj(m))

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
            self.layers = nn.ModuleList(Block() for _ in range(c["num_hidden_layers"]))
            self.norm = RMSNorm(c["hidden_size"])
            self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
            if c["tie_word_embeddings"]:
                self.lm_head.weight = self.embed_tokens.weight
            for p in self.parameters():
                if p.dim() == 2:
                    nn.init.normal_(p, std=0.02)
            t = c["seq_len"]
            inv_freq = 1.0 / c["rope_theta"] ** (torch.arange(0, head_dim, 2).float() / head_dim)
            angles = torch.arange(t).float()[:, None] * inv_freq
            emb = torch.cat((angles, angles), dim=-1)
            self.register_buffer("cos", emb.cos(), persistent=False)
            self.register_buffer("sin", emb.sin(), persistent=False)
            causal = torch.ones(t, t, dtype=torch.bool).tril()
            self.register_buffer("mask", torch.zeros(t, t).masked_fill(~causal, float("-inf")), persistent=False)

        def forward(self, ids, caches=None):
            """Logits (B, T, V); with caches (one dict per layer) the ids are the next positions after the cached ones."""
            start = caches[0]["k"].shape[2] if caches and "k" in caches[0] else 0
            end = start + ids.shape[1]
            cos, sin, mask = self.cos[start:end], self.sin[start:end], self.mask[start:end, :end]
            x = self.embed_tokens(ids)
            for i, layer in enumerate(self.layers):
                x = layer(x, cos, sin, mask, None if caches is None else caches[i])
            return self.lm_head(self.norm(x))

    return Decoder()


def run_generation(c, torch_threads):
    """Greedy KV-cache decoding of new_tokens for gen_batch random prompts: one warm-up, then the median of gen_reps."""
    import torch

    torch.set_num_threads(torch_threads)
    torch.manual_seed(c["seed"])
    model = build_model(dict(c, seq_len=c["prompt_length"] + c["new_tokens"]))
    prompts = torch.randint(3, c["vocab_size"], (c["gen_batch"], c["prompt_length"]))

    def generate(new_tokens):
        caches = [dict() for _ in model.layers]
        ids = prompts
        with torch.no_grad():
            logits = model(ids, caches)                                    # (B, S, V)
            for _ in range(new_tokens):
                next_ids = logits[:, -1, :].argmax(-1, keepdim=True)     # (B, 1)
                ids = torch.cat((ids, next_ids), dim=1)
                logits = model(next_ids, caches)                           # (B, 1, V)
        return ids

    generate(min(8, c["new_tokens"]))  # warm-up
    times = []
    for _ in range(c["gen_reps"]):
        start = time.perf_counter()
        generate(c["new_tokens"])
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {"params": sum(p.numel() for p in model.parameters()), "seconds": round(seconds, 3),
            "tokens_per_second": round(c["gen_batch"] * c["new_tokens"] / seconds, 1),
            "load_average": round(os.getloadavg()[0], 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "torch_version": torch.__version__, "blas": loaded_blas()}


def run_setting(c, torch_threads):
    import torch

    if c["task"] == "generate":
        return run_generation(c, torch_threads)
    torch.set_num_threads(torch_threads)
    torch.manual_seed(c["seed"])
    model = build_model(c)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=c["lr"], betas=tuple(c["betas"]))
    tokens = torch.randint(0, c["vocab_size"], (c["batch_size"], c["seq_len"] + 1))
    inputs, targets = tokens[:, :-1], tokens[:, 1:]

    def step():
        logits = model(inputs)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, c["vocab_size"]), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), c["max_grad_norm"])
        optimizer.step()
        return loss.item()

    losses = [step() for _ in range(c["warmup_steps"])]
    times = []
    for _ in range(c["steps"]):
        start = time.perf_counter()
        losses.append(step())
        times.append(time.perf_counter() - start)
    ms = 1000 * statistics.median(times)  # the median: on a shared machine the mean follows other processes
    assert all(math.isfinite(l) for l in losses), losses
    return {"params": params, "ms_per_step": round(ms, 1), "ms_per_step_mean": round(1000 * statistics.mean(times), 1),
            "ms_per_step_min": round(1000 * min(times), 1),
            "tokens_per_second": round(c["batch_size"] * c["seq_len"] / (ms / 1000), 1),
            "load_average": round(os.getloadavg()[0], 2),
            "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "torch_version": torch.__version__, "blas": loaded_blas()}


def loaded_blas():
    """The BLAS library this process actually mapped (Debian's torch links libblas.so.3 through alternatives)."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "blas" in line}
    return sorted(os.path.realpath(p) for p in paths)


def main():
    args, config = parse_args()
    if args.write_config:
        with open(args.write_config, "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
        return
    if args.child:
        torch_threads, blas_threads = (int(s) for s in args.child.split("x"))
        result = run_setting(config, torch_threads)
        print(json.dumps({"threads": torch_threads, "openblas_threads": blas_threads, **result}))
        return

    runs = []
    for setting in args.settings.split(","):
        torch_threads, blas_threads = (int(s) for s in setting.split("x"))
        env = dict(os.environ, OMP_NUM_THREADS=str(torch_threads), MKL_NUM_THREADS=str(torch_threads),
                   OPENBLAS_NUM_THREADS=str(blas_threads))
        blas = args.blas
        if blas == "auto":
            blas = "openblas-openmp" if os.path.isdir(f"{LIB}/openblas-openmp") else "system"
        if blas != "system":
            env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [f"{LIB}/{blas}", env.get("LD_LIBRARY_PATH")]))
        child = [sys.executable, os.path.abspath(__file__), "--child", setting]
        for key, value in config.items():
            flag = "--" + key.replace("_", "-")
            if isinstance(value, list):
                child += [flag, *map(str, value)]
            else:
                child += [flag, str(value)]
        out = subprocess.run(child, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(runs[-1]), file=sys.stderr)
        if not any("openblas" in path for path in runs[-1]["blas"]):
            print("warning: not running on OpenBLAS (about 20x slower here); see --blas", file=sys.stderr)
    best = max(runs, key=lambda r: r["tokens_per_second"])
    print(json.dumps({"benchmark": "torch_" + config["task"], **best, "config": config, "runs": runs}))


if __name__ == "__main__":
    main()
