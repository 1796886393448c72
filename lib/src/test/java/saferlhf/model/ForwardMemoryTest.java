package saferlhf.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What a forward pass leaves alive in DJL's managers, counted with {@link NDManager#getManagedArrays()}: a DJL array
 * lives until it or its manager is closed, so an array count that grows with the number of layers (or of generated
 * tokens) is memory that grows with them. The memory itself is measured by {@code saferlhf bench memory}.
 */
class ForwardMemoryTest {
    static { ModelTesting.class.getName(); }

    private static final int V = 64;

    private static ModelConfig withLayers(ModelConfig c, int layers) {
        return new ModelConfig(c.modelType(), c.vocabSize(), c.hiddenSize(), layers, c.numHeads(), c.numKvHeads(),
                c.intermediateSize(), c.maxPositions(), c.normEps(), c.ropeTheta(), c.attentionBias(), c.tieWordEmbeddings(),
                c.bosTokenId(), c.eosTokenId(), c.padTokenId());
    }

    /** Arrays left in the caller's manager by one no-grad forward pass of batch 2 x 8. */
    private static int arraysLeftByForward(ModelConfig config) {
        try (CausalLM lm = CausalLM.create(config, Device.cpu(), 3); NDManager step = lm.manager().newSubManager()) {
            long[] ids = new long[16];
            for (int i = 0; i < ids.length; i++) ids[i] = 3 + i % (V - 3);
            long[] mask = new long[16];
            Arrays.fill(mask, 1);
            lm.forward(step.create(ids, new Shape(2, 8)), step.create(mask, new Shape(2, 8)));
            return step.getManagedArrays().size();
        }
    }

    @Test
    void aForwardPassLeavesTheSameArraysWhateverTheNumberOfLayers() {
        for (ModelConfig c : new ModelConfig[] {ModelConfig.tinyLlama(V), ModelConfig.tinyGpt2(V)}) {
            int two = arraysLeftByForward(withLayers(c, 2)), six = arraysLeftByForward(withLayers(c, 6));
            System.out.printf("%s: arrays left by a forward pass: %d with 2 layers, %d with 6%n", c.modelType(), two, six);
            assertEquals(two, six, c.modelType() + ": every layer's activations stay alive after the forward pass");
        }
    }

    @Test
    void theKvCacheHoldsOneKeyAndOneValuePerLayerWhateverTheNumberOfSteps() {
        for (ModelConfig c : new ModelConfig[] {ModelConfig.tinyLlama(V), ModelConfig.tinyGpt2(V)}) {
            try (CausalLM lm = CausalLM.create(c, Device.cpu(), 3); NDManager gen = lm.manager().newSubManager();
                 KvCache cache = lm.newCache(gen)) {
                int batch = 2, steps = 6;
                int[] alive = new int[steps];
                for (int t = 0; t < steps; t++) {
                    try (NDManager step = gen.newSubManager()) {
                        NDArray ids = step.create(new long[] {5 + t, 9 + t}, new Shape(batch, 1));   // (B, 1)
                        long[] ones = new long[batch * (t + 1)];
                        Arrays.fill(ones, 1);
                        lm.forward(ids, step.create(ones, new Shape(batch, t + 1)), cache);          // (B, 1, V)
                    }
                    assertEquals(t + 1, cache.length());
                    alive[t] = gen.getManagedArrays().size();
                }
                System.out.printf("%s: arrays alive under the generation manager after each step: %s%n", c.modelType(),
                        Arrays.toString(alive));
                for (int t = 0; t < steps; t++) {
                    assertEquals(2 * c.numLayers(), alive[t], c.modelType() + ": step " + t + " left more than the cache's keys and values");
                }
            }
        }
    }
}
