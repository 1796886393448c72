#!/usr/bin/python3
"""PyTorch reference for `saferlhf bench memory`: peak resident memory of one part, in this process.

    /usr/bin/python3 lib/src/test/python/bench_torch_memory.py --part forward --config shape.json

Parts (the model of bench_torch_train_step.py, plain LLaMA math, float32, CPU):
  forward     logits of a batch of forward_batch x seq_len random tokens under torch.no_grad()
  generation  greedy decoding with a KV cache: gen_batch prompts of prompt_length random tokens, new_tokens tokens each
  train-step  train_steps steps of forward + next-token cross-entropy + backward + clip_grad_norm_ + AdamW on
              train_batch x seq_len random tokens (two steps: the second holds AdamW's moments as well)

stdout gets one JSON line: the part, the sizes, rss_mb_before_model (the interpreter with torch imported) and
peak_rss_mb (ru_maxrss of this process at the end). The Java side runs one process per part, so each peak is
that part's alone.
"""
import argparse
import json
import os
import resource
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch_train_step import build_model  # noqa: E402  (the same model as the speed benchmark)


def rss_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return -1.0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", required=True, choices=["forward", "generation", "train-step"])
    p.add_argument("--config", required=True, help="JSON with the model and part sizes (written by the Java side)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args()
    with open(args.config) as f:
        c = json.load(f)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(c["seed"])
    before = rss_mb("VmRSS")
    model = build_model(dict(c, tie_word_embeddings=False))
    params = sum(q.numel() for q in model.parameters())
    g = torch.Generator().manual_seed(c["seed"])
    vocab, length = c["vocab_size"], c["seq_len"]
    out = {"part": args.part, "params": params, "threads": torch.get_num_threads(), "torch_version": torch.__version__}
    if args.part == "forward":
        ids = torch.randint(0, vocab, (c["forward_batch"], length), generator=g)
        with torch.no_grad():
            logits = model(ids)                                   # (B, T, V)
        out.update(batch=c["forward_batch"], seq_len=length, logits_sum=float(logits.sum()))
    elif args.part == "generation":
        ids = torch.randint(0, vocab, (c["gen_batch"], c["prompt_length"]), generator=g)
        caches = [dict() for _ in model.layers]
        with torch.no_grad():
            logits = model(ids, caches)                           # (B, S, V)
            for _ in range(c["new_tokens"]):
                next_ids = logits[:, -1, :].argmax(-1, keepdim=True)   # (B, 1)
                ids = torch.cat((ids, next_ids), dim=1)
                logits = model(next_ids, caches)                  # (B, 1, V)
        out.update(batch=c["gen_batch"], prompt_length=c["prompt_length"], new_tokens=c["new_tokens"], length=ids.shape[1])
    else:
        decay = [q for q in model.parameters() if q.dim() >= 2]
        no_decay = [q for q in model.parameters() if q.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=c["lr"], betas=tuple(c["betas"]))
        tokens = torch.randint(0, vocab, (c["train_batch"], length + 1), generator=g)
        losses = []
        for _ in range(c["train_steps"]):
            logits = model(tokens[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), tokens[:, 1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), c["max_grad_norm"])
            opt.step()
            losses.append(round(loss.item(), 4))
            del logits, loss
        out.update(batch=c["train_batch"], seq_len=length, steps=c["train_steps"], losses=losses)
    out["rss_mb_before_model"] = round(before, 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
