package saferlhf.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class GenerationTest {
    static { ModelTesting.class.getName(); }

    private static Tokenizer.Batch prompts(Tokenizer tok) throws Exception {
        List<String> texts = new ArrayList<>();
        for (String[] r : ModelTesting.sftRecords(4)) texts.add(tok.promptText(r[0]));
        return tok.encodeBatch(texts, 96, Tokenizer.Padding.LEFT);
    }

    @Test
    void greedyAndSeededSamplingAreReproducibleAndLogProbsMatch() throws Exception {
        try (Tokenizer tok = ModelTesting.beaverTokenizer(); CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(tok.vocabSize()), Device.cpu(), 11)) {
            Tokenizer.Batch p = prompts(tok);
            assertTrue(p.attentionMask()[0] == 0 || p.attentionMask()[p.length()] == 0 || p.attentionMask()[2 * p.length()] == 0, "expected left padding somewhere");
            Generation.Output g1 = Generation.generate(lm, p, Generation.Config.greedy(12), tok);
            Generation.Output g2 = Generation.generate(lm, p, Generation.Config.greedy(12), tok);
            assertArrayEquals(g1.sequences(), g2.sequences());
            Generation.Config sampling = new Generation.Config(12, true, 0.9, 50, 0.95, 1.2, 123);
            Generation.Output s1 = Generation.generate(lm, p, sampling, tok);
            Generation.Output s2 = Generation.generate(lm, p, sampling, tok);
            Generation.Output s3 = Generation.generate(lm, p, new Generation.Config(12, true, 0.9, 50, 0.95, 1.2, 124), tok);
            assertArrayEquals(s1.sequences(), s2.sequences());
            assertArrayEquals(s1.logProbs(), s2.logProbs());
            assertFalse(java.util.Arrays.equals(s1.sequences(), s3.sequences()), "different seeds gave the same samples");
            assertFalse(java.util.Arrays.equals(s1.sequences(), g1.sequences()), "sampling equals greedy");
            for (Generation.Output g : List.of(g1, s1)) checkLogProbs(lm, g);
        }
    }

    @Test
    void topKSamplesOnlyAmongTheKMostLikelyTokens() throws Exception {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) { // HF TopKLogitsWarper: below the k-th largest -> -inf
            float[] kept = Generation.topK(m.create(new float[] {1f, 5f, 3f, 2f, 4f}, new ai.djl.ndarray.types.Shape(1, 5)), 2).toFloatArray();
            assertArrayEquals(new float[] {Float.NEGATIVE_INFINITY, 5f, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, 4f}, kept);
        }
        try (Tokenizer tok = ModelTesting.beaverTokenizer(); CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(tok.vocabSize()), Device.cpu(), 11)) {
            Tokenizer.Batch p = prompts(tok);
            Generation.Output greedy = Generation.generate(lm, p, Generation.Config.greedy(12), tok);
            for (long seed : new long[] {1, 2, 3}) { // top_k 1 samples the argmax whatever the draw
                assertArrayEquals(greedy.sequences(), Generation.generate(lm, p, Generation.Config.sampling(12, 1, seed), tok).sequences());
            }
            // top_k 3: every sampled token is among the 3 most likely at its step (ranked from the recomputed log-probs)
            Generation.Output g = Generation.generate(lm, p, Generation.Config.sampling(12, 3, 7), tok);
            Generation.Output all = Generation.generate(lm, p, Generation.Config.sampling(12, 0, 7), tok);
            assertFalse(java.util.Arrays.equals(g.sequences(), all.sequences()), "top_k 3 sampled as the whole vocabulary does");
            try (NDManager m = lm.manager().newSubManager()) {
                NDArray logits = lm.forward(g.sequences(m), g.attentionMask(m));                            // (B, T, V)
                int vocab = (int) logits.getShape().get(2), checked = 0;
                float[] flat = logits.toFloatArray();
                for (int b = 0; b < g.batch(); b++) {
                    for (int t = g.promptLength(); t < g.length(); t++) {
                        if (g.attentionMask()[b * g.length() + t] == 0) continue;
                        int token = (int) g.sequences()[b * g.length() + t], base = (b * g.length() + t - 1) * vocab, above = 0;
                        for (int v = 0; v < vocab; v++) if (flat[base + v] > flat[base + token]) above++;
                        assertTrue(above < 3, "row " + b + " step " + t + ": token ranked " + (above + 1));
                        checked++;
                    }
                }
                assertTrue(checked > 10, "tokens checked: " + checked);
            }
        }
    }

    /** Generation's log-probs equal logProbs(seq, mask)[:, S-1:] at every real generated token. */
    private static void checkLogProbs(CausalLM lm, Generation.Output g) {
        try (NDManager m = lm.manager().newSubManager()) {
            NDArray seq = g.sequences(m), mask = g.attentionMask(m);
            float[] re = lm.logProbs(seq, mask).toFloatArray(); // (B, T-1)
            int newLen = g.length() - g.promptLength();
            float maxDiff = 0;
            int compared = 0;
            for (int b = 0; b < g.batch(); b++) {
                for (int t = 0; t < newLen; t++) {
                    if (g.attentionMask()[b * g.length() + g.promptLength() + t] == 0) continue;
                    float a = g.logProbs()[b * newLen + t];
                    float r = re[b * (g.length() - 1) + g.promptLength() - 1 + t];
                    maxDiff = Math.max(maxDiff, Math.abs(a - r));
                    compared++;
                }
            }
            System.out.printf("generation log-probs vs recomputed: max diff %.3g over %d tokens%n", maxDiff, compared);
            assertTrue(compared > 10);
            assertTrue(maxDiff <= 1e-4, "log-prob mismatch " + maxDiff);
        }
    }

    @Test
    void eosStopsASequenceAndPadFollows() throws Exception {
        try (Tokenizer tok = ModelTesting.beaverTokenizer(); CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(tok.vocabSize()), Device.cpu(), 11)) {
            Tokenizer.Batch p = prompts(tok);
            Generation.Output g = Generation.generate(lm, p, Generation.Config.greedy(6), tok);
            // make row 0's first greedy token the EOS: pretend that token id is EOS
            long first0 = g.sequences()[p.length()];
            long first1 = g.sequences()[g.length() + p.length()];
            Generation.Output e = Generation.generate(lm, p, Generation.Config.greedy(6), first0, tok.padId(), tok.unkId());
            assertEquals(first0, e.sequences()[p.length()]);
            for (int t = p.length() + 1; t < e.length(); t++) {
                assertEquals(tok.padId(), e.sequences()[t], "row 0 continued after EOS");
                assertEquals(0, e.attentionMask()[t]);
                assertEquals(0f, e.logProbs()[t - p.length()]);
            }
            if (first1 != first0) assertNotEquals(tok.padId(), e.sequences()[e.length() + p.length() + 1], "row 1 stopped with row 0");
            // when every row emits EOS at once, generation stops after one step
            boolean allSame = true;
            for (int b = 0; b < g.batch(); b++) allSame &= g.sequences()[b * g.length() + p.length()] == first0;
            if (allSame) assertEquals(p.length() + 1, e.length());
        }
    }

    @Test
    void topKAndTopPKeepTheRightTokens() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray logits = m.create(new float[] {0f, 1f, 2f, 3f, 4f}).reshape(1, 5);
            float[] k = Generation.topK(logits, 2).toFloatArray();
            assertTrue(Float.isInfinite(k[2]) && k[3] == 3f && k[4] == 4f);
            // probs of 0..4: .012 .032 .087 .237 .644; top_p 0.8 keeps {4, 3}
            float[] p = Generation.topP(logits, 0.8).toFloatArray();
            assertTrue(Float.isInfinite(p[0]) && Float.isInfinite(p[1]) && Float.isInfinite(p[2]) && p[3] == 3f && p[4] == 4f, java.util.Arrays.toString(p));
            float[] r = Generation.repetitionPenalty(m.create(new float[] {-2f, 2f, 2f}).reshape(1, 3),
                    m.create(new boolean[] {true, true, false}).reshape(1, 3), 2f).toFloatArray();
            assertArrayEquals(new float[] {-4f, 1f, 2f}, r);
            NDArray probs = m.create(new float[] {0.1f, 0f, 0.9f, 0.3f, 0.1f, 0.9f}).reshape(2, 3);
            long[] drawn = Nd.sampleInverseCdf(probs, m.create(new float[] {0.15f, 0.05f})).toLongArray(); // row 1 sums to 1.3: u scales
            assertArrayEquals(new long[] {2, 0}, drawn);
            long[] edge = Nd.sampleInverseCdf(probs, m.create(new float[] {0.1f + 1e-6f, 0.99f})).toLongArray();
            assertArrayEquals(new long[] {2, 2}, edge, "a zero-probability token was drawn");
        }
    }
}
