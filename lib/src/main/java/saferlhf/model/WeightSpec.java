package saferlhf.model;

import java.util.List;

/**
 * One Hugging Face checkpoint tensor and how it maps onto a kit parameter. The kit stores every parameter under its
 * Hugging Face name and in the Hugging Face layout, so the transform is the identity for every tensor: LLaMA-family
 * {@code nn.Linear} weights are (out, in) and are applied with {@code F.linear}; GPT-2 {@code Conv1D} weights are kept
 * (in, out) as in the checkpoint and applied with {@code x.matMul(W)} ({@code c_attn} packs q, k, v along out).
 *
 * @param hfName   the name in a checkpoint saved by {@code save_pretrained} of the HF class (e.g.
 *                 {@code model.layers.0.self_attn.q_proj.weight}, {@code transformer.h.0.attn.c_attn.weight})
 * @param aliases  other names a checkpoint may use for it (the original {@code gpt2} hub files drop {@code transformer.})
 * @param shape    expected shape, in the checkpoint's layout
 * @param optional true when a checkpoint may omit it (none today: tied LM heads have no spec at all)
 */
public record WeightSpec(String hfName, List<String> aliases, long[] shape, boolean optional) {}
