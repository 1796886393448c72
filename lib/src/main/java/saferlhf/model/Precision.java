package saferlhf.model;

import ai.djl.ndarray.types.DataType;
import java.util.List;
import saferlhf.util.InputError;

/**
 * The dtype of frozen models (the {@code frozen_dtype} key of PPO and DPO, docs/gpu.md): {@code float32}, or
 * {@code float16} to halve the memory of the reference policy and the reward and cost models. Trained weights (actor,
 * critics, adapters) stay fp32: DJL's casts are not differentiable. bfloat16, the reference's dtype, is refused: DJL
 * 0.35.1 aborts the JVM on any BF16 tensor.
 */
public final class Precision {
    private Precision() {}

    /** The values {@code frozen_dtype} accepts. */
    public static final List<String> FROZEN_DTYPES = List.of("float32", "float16");

    /**
     * @param key   the config key, for the message ({@code frozen_dtype})
     * @param value {@code float32} or {@code float16}
     * @throws InputError naming the key for any other value
     */
    public static DataType frozenDtype(String key, String value) {
        if ("float32".equals(value)) return DataType.FLOAT32;
        if ("float16".equals(value)) return DataType.FLOAT16;
        String why = "bfloat16".equals(value) || "bf16".equals(value)
                ? " (bfloat16 is not available: DJL 0.35.1 aborts the JVM on any BF16 tensor; float16 halves memory the same way)"
                : "";
        throw new InputError(key + " '" + value + "': expected " + String.join(" or ", FROZEN_DTYPES) + why);
    }
}
