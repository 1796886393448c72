#!/usr/bin/python3
"""Parity fixtures for the Java models: tiny random GPT-2, Llama and Qwen2 checkpoints with reference logits.

Independent of the Java code and of Hugging Face's Python libraries (neither `safetensors` nor `transformers` is
needed): the safetensors writer and the forward passes are written out here, following the Hugging Face
implementations (GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM). Needs only PyTorch and NumPy:

    apt-get install -y python3-torch python3-numpy      # Debian 12: PyTorch 1.13
    /usr/bin/python3 lib/src/test/python/make_parity_fixtures.py

Writes lib/src/test/resources/parity/{gpt2,llama,qwen2}/ (see the README.md there). Deterministic: running it again
gives byte-identical files. The reference forward pass runs in float64 on the float32 weights; logits are stored as
float32.
"""
import json
import math
import os
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parents[1] / "resources" / "parity"
SEED = 1234
BATCH, LENGTH, PAD = 2, 8, 3  # row 1 has PAD left-padding positions
PAD_ID = 0


# ---------------------------------------------------------------- safetensors, written by hand

DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.int64: "I64"}


def save_safetensors(path, tensors, metadata):
    """The official layout: u64-LE header length, compact JSON header (__metadata__ first), spaces to a multiple of 8,
    then the data, ordered like the official writer: larger element size first, then by name."""
    names = sorted(tensors, key=lambda n: (-tensors[n].element_size(), n.encode("utf-8")))
    header, chunks, offset = {"__metadata__": dict(sorted(metadata.items()))}, [], 0
    for name in names:
        t = tensors[name].contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()  # x86: little-endian
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    write_atomic(path, len(text).to_bytes(8, "little") + text + b"".join(chunks))


def write_atomic(path, data):
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json(path, obj, indent=2):
    write_atomic(path, (json.dumps(obj, indent=indent, sort_keys=True) + "\n").encode("utf-8"))


# ---------------------------------------------------------------- shared pieces

def inputs():
    """Row 0: 8 random ids. Row 1: PAD pad tokens, then row 0's first 8 - PAD ids (left padding), so its logits at
    positions PAD.. must equal row 0's at 0.. (checked below)."""
    g = torch.Generator().manual_seed(SEED + 1)
    row = torch.randint(1, 64, (LENGTH,), generator=g)
    ids = torch.stack([row, torch.cat([torch.full((PAD,), PAD_ID), row[: LENGTH - PAD]])])
    mask = torch.ones(BATCH, LENGTH, dtype=torch.int64)
    mask[1, :PAD] = 0
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids, mask, position_ids


def attention_bias(mask):
    """(B, T) mask -> (B, 1, T, T) additive bias: 0 where query i may see key j (j <= i and key not padding), else
    the most negative float32 (as Hugging Face does; a padded query row then averages over all keys, harmlessly)."""
    t = mask.shape[1]
    allowed = torch.ones(t, t, dtype=torch.bool).tril()[None, None] & mask.bool()[:, None, None, :]
    return torch.where(allowed, 0.0, torch.finfo(torch.float32).min).double()


def attend(q, k, v, bias):
    """q (B, H, T, D), k/v (B, H, T, D) -> (B, T, H * D): softmax(q k^T / sqrt(D) + bias) v."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + bias
    y = torch.softmax(scores, dim=-1) @ v
    return y.transpose(1, 2).reshape(q.shape[0], q.shape[2], -1)


def randn(g, *shape, std=1.0, mean=0.0):
    return (torch.randn(*shape, generator=g) * std + mean).float()


# ---------------------------------------------------------------- GPT-2 (Hugging Face GPT2LMHeadModel)

GPT2 = dict(vocab_size=64, n_embd=32, n_layer=2, n_head=4, n_positions=32, layer_norm_epsilon=1e-5)


def gpt2_config():
    c = GPT2
    return {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.0,
            "bos_token_id": 63, "embd_pdrop": 0.0, "eos_token_id": 63, "initializer_range": 0.02,
            "layer_norm_epsilon": c["layer_norm_epsilon"], "model_type": "gpt2", "n_embd": c["n_embd"],
            "n_head": c["n_head"], "n_inner": None, "n_layer": c["n_layer"], "n_positions": c["n_positions"],
            "reorder_and_upcast_attn": False, "resid_pdrop": 0.0, "scale_attn_by_inverse_layer_idx": False,
            "scale_attn_weights": True, "tie_word_embeddings": True, "torch_dtype": "float32", "use_cache": True,
            "vocab_size": c["vocab_size"]}


def gpt2_weights():
    """Hugging Face names and shapes; Conv1D weights are (in, out). lm_head.weight is tied to wte and not stored."""
    g = torch.Generator().manual_seed(SEED)
    c, w = GPT2["n_embd"], {}
    w["transformer.wte.weight"] = randn(g, GPT2["vocab_size"], c, std=0.5)
    w["transformer.wpe.weight"] = randn(g, GPT2["n_positions"], c, std=0.2)
    for i in range(GPT2["n_layer"]):
        p = f"transformer.h.{i}."
        for ln in ("ln_1", "ln_2"):
            w[p + ln + ".weight"] = randn(g, c, std=0.1, mean=1.0)
            w[p + ln + ".bias"] = randn(g, c, std=0.1)
        for name, n_in, n_out in (("attn.c_attn", c, 3 * c), ("attn.c_proj", c, c), ("mlp.c_fc", c, 4 * c),
                                  ("mlp.c_proj", 4 * c, c)):
            w[p + name + ".weight"] = randn(g, n_in, n_out, std=0.2)
            w[p + name + ".bias"] = randn(g, n_out, std=0.1)
    w["transformer.ln_f.weight"] = randn(g, c, std=0.1, mean=1.0)
    w["transformer.ln_f.bias"] = randn(g, c, std=0.1)
    return w


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def gelu_new(x):  # the tanh approximation, as in GPT-2
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gpt2_forward(w, ids, mask, position_ids):
    """Returns logits (B, T, V) and hidden states (n_layer + 1 of (B, T, C)), Hugging Face's output_hidden_states:
    the embeddings, each block's output, and the last one with ln_f applied."""
    w = {k: v.double() for k, v in w.items()}
    c, nh, eps = GPT2["n_embd"], GPT2["n_head"], GPT2["layer_norm_epsilon"]
    b, t = ids.shape
    bias = attention_bias(mask)
    x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][position_ids]  # (B, T, C)
    hidden = []
    for i in range(GPT2["n_layer"]):
        hidden.append(x)
        p = f"transformer.h.{i}."
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # (B, T, 3C)
        q, k, v = (z.view(b, t, nh, c // nh).transpose(1, 2) for z in qkv.split(c, dim=-1))  # (B, H, T, D)
        x = x + attend(q, k, v, bias) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        x = x + gelu_new(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]) @ w[p + "mlp.c_proj.weight"] \
            + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    hidden.append(x)
    return x @ w["transformer.wte.weight"].T, hidden  # tied lm_head


# ---------------------------------------------------------------- Llama and Qwen2 (LlamaForCausalLM, Qwen2ForCausalLM)

LLAMA = dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
             intermediate_size=64, rope_theta=10000.0, rms_norm_eps=1e-6, max_position_embeddings=32)


def llama_config(qwen2):
    c = LLAMA
    config = {"attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
              "hidden_size": c["hidden_size"], "initializer_range": 0.02, "intermediate_size": c["intermediate_size"],
              "max_position_embeddings": c["max_position_embeddings"], "num_attention_heads": c["num_attention_heads"],
              "num_hidden_layers": c["num_hidden_layers"], "num_key_value_heads": c["num_key_value_heads"],
              "rms_norm_eps": c["rms_norm_eps"], "rope_scaling": None, "rope_theta": c["rope_theta"],
              "tie_word_embeddings": qwen2, "torch_dtype": "float32", "use_cache": True,
              "vocab_size": c["vocab_size"]}
    if qwen2:
        config.update({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "max_window_layers": 2,
                       "sliding_window": None, "use_sliding_window": False})
    else:
        config.update({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "attention_bias": False,
                       "head_dim": c["hidden_size"] // c["num_attention_heads"], "mlp_bias": False,
                       "pretraining_tp": 1})
    return config


def llama_weights(qwen2):
    """Hugging Face names; nn.Linear weights are (out, in). Qwen2 adds q/k/v biases (not o_proj) and ties lm_head to
    embed_tokens (as Qwen2.5-0.5B and Llama 3.2 1B do), so lm_head.weight is not stored."""
    g = torch.Generator().manual_seed(SEED + (2 if qwen2 else 0))
    c = LLAMA
    h, inter, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    hd = h // c["num_attention_heads"]
    kv = c["num_key_value_heads"] * hd
    w = {"model.embed_tokens.weight": randn(g, v, h, std=0.5)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = randn(g, h, std=0.1, mean=1.0)
        for name, n_out in (("q_proj", h), ("k_proj", kv), ("v_proj", kv), ("o_proj", h)):
            w[p + "self_attn." + name + ".weight"] = randn(g, n_out, h, std=0.2)
            if qwen2 and name != "o_proj":
                w[p + "self_attn." + name + ".bias"] = randn(g, n_out, std=0.2)
        w[p + "post_attention_layernorm.weight"] = randn(g, h, std=0.1, mean=1.0)
        w[p + "mlp.gate_proj.weight"] = randn(g, inter, h, std=0.2)
        w[p + "mlp.up_proj.weight"] = randn(g, inter, h, std=0.2)
        w[p + "mlp.down_proj.weight"] = randn(g, h, inter, std=0.2)
    w["model.norm.weight"] = randn(g, h, std=0.1, mean=1.0)
    if not qwen2:
        w["lm_head.weight"] = randn(g, v, h, std=0.2)
    return w


def rms_norm(x, weight, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):  # Hugging Face's convention: the two halves of each head, not interleaved pairs
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def rope(position_ids, head_dim, theta):
    """cos, sin of shape (B, 1, T, D): angle = position * theta^(-2i/D), the D/2 frequencies repeated twice."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = position_ids.double()[..., None] * inv_freq  # (B, T, D/2)
    emb = torch.cat((angles, angles), dim=-1)[:, None]
    return emb.cos(), emb.sin()


def llama_forward(w, ids, mask, position_ids):
    """Returns logits (B, T, V) and hidden states as gpt2_forward does (the last with model.norm applied)."""
    w = {k: v.double() for k, v in w.items()}
    c = LLAMA
    b, t = ids.shape
    nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    hd, eps = c["hidden_size"] // nh, c["rms_norm_eps"]
    bias = attention_bias(mask)
    cos, sin = rope(position_ids, hd, c["rope_theta"])

    def linear(x, name):
        y = x @ w[name + ".weight"].T
        return y + w[name + ".bias"] if name + ".bias" in w else y

    x = w["model.embed_tokens.weight"][ids]  # (B, T, C)
    hidden = []
    for i in range(c["num_hidden_layers"]):
        hidden.append(x)
        p = f"model.layers.{i}."
        a = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = linear(a, p + "self_attn.q_proj").view(b, t, nh, hd).transpose(1, 2)  # (B, H, T, D)
        k = linear(a, p + "self_attn.k_proj").view(b, t, nkv, hd).transpose(1, 2)  # (B, KV, T, D)
        v = linear(a, p + "self_attn.v_proj").view(b, t, nkv, hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(nh // nkv, dim=1), v.repeat_interleave(nh // nkv, dim=1)  # head j uses kv j // rep
        x = x + linear(attend(q, k, v, bias), p + "self_attn.o_proj")
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = linear(m, p + "mlp.gate_proj")
        x = x + linear(gate * torch.sigmoid(gate) * linear(m, p + "mlp.up_proj"), p + "mlp.down_proj")  # SiLU
    x = rms_norm(x, w["model.norm.weight"], eps)
    hidden.append(x)
    return x @ w.get("lm_head.weight", w["model.embed_tokens.weight"]).T, hidden


# ---------------------------------------------------------------- fixtures

def bf16_round(w):
    return {k: v.to(torch.bfloat16) for k, v in w.items()}


def describe(tensors):
    """Per tensor: dtype, shape, float64 sum of the stored values and the first 4 values (exact, as float64)."""
    out = {}
    for name, t in sorted(tensors.items()):
        flat = t.float().flatten()
        out[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "sum": flat.double().sum().item(),
                     "first": [float(x) for x in flat[:4].tolist()]}
    return out


def check_left_padding(logits):
    """Row 1 is row 0 shifted right by PAD with correct positions and masking: the logits must agree."""
    diff = (logits[1, PAD:] - logits[0, : LENGTH - PAD]).abs().max().item()
    assert diff < 1e-9, f"left-padded row differs from the unpadded one by {diff}"


def fixture(name, config, weights, forward, bf16):
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    ids, mask, position_ids = inputs()
    write_json(folder / "config.json", config)
    write_json(folder / "inputs.json", {"input_ids": ids.tolist(), "attention_mask": mask.tolist(),
                                        "position_ids": position_ids.tolist()}, indent=None)
    manifest = {}
    variants = [("model.safetensors", "expected_logits.safetensors", weights)]
    if bf16:
        variants.append(("model-bf16.safetensors", "expected_logits-bf16.safetensors", bf16_round(weights)))
    for model_file, logits_file, w in variants:
        save_safetensors(folder / model_file, w, {"format": "pt"})
        logits, hidden = forward({k: v.float() for k, v in w.items()}, ids, mask, position_ids)
        check_left_padding(logits)
        expected = {"logits": logits.float()}
        expected.update({f"hidden_states.{i}": h.float() for i, h in enumerate(hidden)})
        save_safetensors(folder / logits_file, expected, {"format": "pt", "model": model_file})
        manifest[model_file] = describe(w)
        manifest[logits_file] = describe(expected)
    write_json(folder / "manifest.json", manifest)
    print(f"{name}: {sum(v.numel() for v in weights.values())} parameters stored, "
          f"logits std {logits.std().item():.3f}, files in {folder}")


def main():
    torch.manual_seed(SEED)
    fixture("gpt2", gpt2_config(), gpt2_weights(), gpt2_forward, bf16=False)
    fixture("llama", llama_config(False), llama_weights(False), llama_forward, bf16=True)
    fixture("qwen2", llama_config(True), llama_weights(True), llama_forward, bf16=False)


if __name__ == "__main__":
    main()
