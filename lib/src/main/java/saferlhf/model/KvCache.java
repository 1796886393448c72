package saferlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Keys and values of every layer for incremental decoding, each (B, kvHeads, T, headDim), after RoPE. Owned by its own
 * sub-manager: closing the cache frees them.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;

    public KvCache(NDManager parent, int numLayers) {
        this.manager = parent.newSubManager();
        this.keys = new NDArray[numLayers];
        this.values = new NDArray[numLayers];
    }

    /** Cached positions T (0 before the first forward). */
    public long length() { return keys[0] == null ? 0 : keys[0].getShape().get(2); }

    /**
     * Appends a step's keys and values (B, kv, L, D) to a layer's cache and returns the layer's keys and values of every
     * position so far (B, kv, T, D), which the cache owns (the previous ones are freed). An op whose first operand is
     * one of them produces an array of the cache's manager: close such results yourself.
     */
    NDArray[] append(int layer, NDArray k, NDArray v) {
        if (keys[layer] != null) {
            NDArray allK = keys[layer].concat(k, 2);                         // (B, kv, T, D), the cache's manager
            NDArray allV = values[layer].concat(v, 2);                       // (B, kv, T, D)
            keys[layer].close();
            values[layer].close();
            k = allK;
            v = allV;
        } else {
            // the first step's k and v may be views of a larger array (GPT-2's fused qkv): keep copies of just them
            k = k.duplicate();
            v = v.duplicate();
        }
        k.attach(manager);
        v.attach(manager);
        keys[layer] = k;
        values[layer] = v;
        return new NDArray[] {k, v};
    }

    @Override
    public void close() { manager.close(); }
}
