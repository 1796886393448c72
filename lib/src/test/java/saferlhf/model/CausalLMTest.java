package saferlhf.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class CausalLMTest {
    static { ModelTesting.class.getName(); }

    private static final int V = 599;

    /** Left-padded prompts of different lengths: full forward == prefill + token-by-token decoding with a KV cache. */
    private static void checkKvCache(ModelConfig config) {
        try (CausalLM lm = CausalLM.create(config, Device.cpu(), 7); NDManager m = lm.manager().newSubManager()) {
            int batch = 3, length = 12, prefill = 7;
            long[] ids = new long[batch * length];
            long[] mask = new long[batch * length];
            int[] pads = {0, 3, 5};
            java.util.Random r = new java.util.Random(1);
            for (int b = 0; b < batch; b++) {
                for (int t = 0; t < length; t++) {
                    boolean pad = t < pads[b];
                    ids[b * length + t] = pad ? 0 : 4 + r.nextInt(V - 4);
                    mask[b * length + t] = pad ? 0 : 1;
                }
            }
            NDArray idsNd = m.create(ids, new Shape(batch, length));
            NDArray maskNd = m.create(mask, new Shape(batch, length));
            float[] full = lm.forward(idsNd, maskNd).toFloatArray(); // (B, L, V)
            // prefill 7 positions, then one token at a time
            List<NDArray> pieces = new ArrayList<>();
            try (KvCache cache = lm.newCache(m)) {
                pieces.add(lm.forward(idsNd.get(":, :" + prefill), maskNd.get(":, :" + prefill), cache));
                for (int t = prefill; t < length; t++) {
                    pieces.add(lm.forward(idsNd.get(new NDIndex(":, {}:{}", t, t + 1)), maskNd.get(":, :" + (t + 1)), cache));
                    assertEquals(t + 1, cache.length());
                }
            }
            NDArray incremental = pieces.get(0);
            for (int i = 1; i < pieces.size(); i++) incremental = incremental.concat(pieces.get(i), 1); // (B, L, V)
            float[] inc = incremental.toFloatArray();
            // compare only real (non-pad) query positions: pad rows are fully masked and meaningless
            float maxDiff = 0;
            for (int b = 0; b < batch; b++) {
                for (int t = pads[b]; t < length; t++) {
                    for (int v = 0; v < V; v++) {
                        int i = (b * length + t) * V + v;
                        maxDiff = Math.max(maxDiff, Math.abs(full[i] - inc[i]));
                    }
                }
            }
            System.out.printf("KV cache (%s): max |full - incremental| = %.3g%n", config.modelType(), maxDiff);
            assertTrue(maxDiff <= 1e-4, "KV cache differs from full forward by " + maxDiff);
            // left padding must not change a row's logits: row 2 alone without its padding
            long[] row = new long[length - pads[2]];
            System.arraycopy(ids, 2 * length + pads[2], row, 0, row.length);
            NDArray alone = lm.forward(m.create(row, new Shape(1, row.length)), m.ones(new Shape(1, row.length), ai.djl.ndarray.types.DataType.INT64));
            float[] aloneLogits = alone.toFloatArray();
            float[] padded = java.util.Arrays.copyOfRange(full, (2 * length + pads[2]) * V, (3 * length) * V);
            assertTrue(ModelTesting.maxAbsDiff(aloneLogits, padded) <= 1e-4, "left padding changes logits");
        }
    }

    @Test
    void kvCacheMatchesFullForwardLlama() { checkKvCache(ModelConfig.tinyLlama(V)); }

    @Test
    void kvCacheMatchesFullForwardGpt2() { checkKvCache(ModelConfig.tinyGpt2(V)); }

    @Test
    void kvCacheMatchesFullForwardQwen2WithBias() {
        ModelConfig q = new ModelConfig("qwen2", V, 64, 2, 4, 1, 96, 64, 1e-6, 1e6, true, true, 1, 2, 0);
        checkKvCache(q);
    }

    /** SFT on a few BeaverWorld sequences with System.gc() every step: finite, decreasing, deterministic. */
    @Test
    void trainingIsFiniteDecreasingAndDeterministic() throws Exception {
        float[] first = TrainingRun.sft(ModelConfig.tinyLlama(V), 42, 10, 4, true);
        float[] second = TrainingRun.sft(ModelConfig.tinyLlama(V), 42, 10, 4, true);
        for (float l : first) assertTrue(Float.isFinite(l), "non-finite loss " + java.util.Arrays.toString(first));
        assertTrue(first[first.length - 1] < first[0] - 0.5, "loss did not decrease: " + java.util.Arrays.toString(first));
        System.out.println("SFT losses: " + java.util.Arrays.toString(first));
        assertArrayEquals(first, second, "same seed, different losses");
        float[] gpt2 = TrainingRun.sft(ModelConfig.tinyGpt2(V), 42, 6, 4, true);
        for (float l : gpt2) assertTrue(Float.isFinite(l));
        assertTrue(gpt2[gpt2.length - 1] < gpt2[0] - 0.5, "gpt2 loss did not decrease: " + java.util.Arrays.toString(gpt2));
    }

    @Test
    void trainingStepLeaksNoArraysIntoTheModelManager() throws Exception {
        try (Tokenizer tok = ModelTesting.beaverTokenizer(); CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(V), Device.cpu(), 1);
             AdamW opt = new AdamW(lm.namedParameters(), AdamW.Config.reference(0.01))) {
            TrainingRun.Data data = TrainingRun.data(tok, 2);
            int before = -1;
            for (int step = 0; step < 3; step++) {
                TrainingRun.step(lm, opt, data, 1e-3, 1.0);
                int now = lm.manager().getManagedArrays().size();
                if (step == 1) before = now;
                if (step > 1) assertEquals(before, now, "arrays owned by the model manager grow per step");
            }
        }
    }

    @Test
    void copyAndHostRoundTripAndMissingWeightsError() {
        try (CausalLM a = CausalLM.create(ModelConfig.tinyLlama(V), Device.cpu(), 3);
             CausalLM b = CausalLM.create(ModelConfig.tinyLlama(V), Device.cpu(), 4);
             NDManager m = a.manager().newSubManager()) {
            NDArray ids = m.create(new long[] {1, 5, 6, 7, 8}, new Shape(1, 5));
            NDArray mask = m.ones(new Shape(1, 5), ai.djl.ndarray.types.DataType.INT64);
            float[] la = a.forward(ids, mask).toFloatArray();
            assertTrue(ModelTesting.maxAbsDiff(la, b.forward(ids, mask).toFloatArray()) > 1e-3, "different seeds, same model");
            Map<String, HostTensor> host = a.toHost();
            assertTrue(host.containsKey("model.layers.0.self_attn.q_proj.weight"));
            assertArrayEquals(new long[] {64, 128}, host.get("model.layers.0.self_attn.k_proj.weight").shape()); // 2 kv heads x 32
            List<String> unused = b.loadNamedParameters(host);
            assertTrue(unused.isEmpty(), unused.toString());
            assertEquals(0f, ModelTesting.maxAbsDiff(la, b.forward(ids, mask).toFloatArray()));
            try (CausalLM c = a.copy()) {
                assertEquals(0f, ModelTesting.maxAbsDiff(la, c.forward(ids, mask).toFloatArray()));
            }
            host.remove("model.norm.weight");
            host.remove("lm_head.weight");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.loadNamedParameters(host));
            assertTrue(e.getMessage().contains("model.norm.weight") && e.getMessage().contains("lm_head.weight"), e.getMessage());
        }
    }

    @Test
    void gpt2AcceptsHubNamesWithoutPrefix() {
        try (CausalLM a = CausalLM.create(ModelConfig.tinyGpt2(V), Device.cpu(), 3);
             CausalLM b = CausalLM.create(ModelConfig.tinyGpt2(V), Device.cpu(), 4)) {
            Map<String, HostTensor> hub = new java.util.LinkedHashMap<>();
            a.toHost().forEach((k, v) -> hub.put(k.substring("transformer.".length()), v));
            hub.put("h.0.attn.bias", new HostTensor(new float[1], new long[] {1})); // buffer in real checkpoints
            assertArrayEquals(new long[] {128, 384}, hub.get("h.0.attn.c_attn.weight").shape()); // Conv1D (in, out)
            List<String> unused = b.loadNamedParameters(hub);
            assertEquals(List.of("h.0.attn.bias"), unused);
            assertEquals(0f, ModelTesting.maxAbsDiff(a.namedParameters().get("transformer.wte.weight").toFloatArray(),
                    b.namedParameters().get("transformer.wte.weight").toFloatArray()));
        }
    }

    @Test
    void resizeAddsMeanRows() {
        try (CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(10), Device.cpu(), 3)) {
            float[] before = lm.namedParameters().get("model.embed_tokens.weight").toFloatArray();
            lm.resizeTokenEmbeddings(12);
            assertEquals(12, lm.config().vocabSize());
            NDArray emb = lm.namedParameters().get("model.embed_tokens.weight");
            assertEquals(new Shape(12, 128), emb.getShape());
            float[] after = emb.toFloatArray();
            for (int c = 0; c < 128; c++) {
                double mean = 0;
                for (int r = 0; r < 10; r++) mean += before[r * 128 + c];
                mean /= 10;
                assertEquals(mean, after[10 * 128 + c], 1e-6);
                assertEquals(mean, after[11 * 128 + c], 1e-6);
            }
            assertEquals(new Shape(12, 128), lm.namedParameters().get("lm_head.weight").getShape());
        }
    }
}
