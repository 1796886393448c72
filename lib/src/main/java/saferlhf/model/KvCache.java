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

    NDArray keys(int layer) { return keys[layer]; }

    NDArray values(int layer) { return values[layer]; }

    /** Replaces a layer's entries with {@code k}, {@code v} (taking ownership) and frees the old ones. */
    void put(int layer, NDArray k, NDArray v) {
        if (keys[layer] != null) keys[layer].close();
        if (values[layer] != null) values[layer].close();
        k.attach(manager);
        v.attach(manager);
        keys[layer] = k;
        values[layer] = v;
    }

    @Override
    public void close() { manager.close(); }
}
