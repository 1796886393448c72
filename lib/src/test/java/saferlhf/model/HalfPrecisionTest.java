package saferlhf.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import saferlhf.data.SftRecord;

/**
 * Frozen models in half precision (fp16) on the CPU (libtorch 2.7.1 runs every op of the forward pass in fp16 here):
 * their reference log-probabilities and end scores agree with fp32 within the tolerances measured below, nothing turns
 * NaN in fully masked (left-padding) rows, every output the kit reads is float32, and the weights take half the bytes.
 *
 * <p>The models are tiny LLaMA and GPT-2 models trained for 40 SFT steps on 16 BeaverWorld examples (random models give
 * near-uniform outputs that would hide any precision loss): their next-token distributions are peaked, as a real
 * policy's are. The measured differences (this machine, seed 7) are in the constants' comments and docs/gpu.md.
 */
class HalfPrecisionTest {
    /**
     * Largest |fp16 - fp32| reference log-probability at a real token. Measured: llama 0.0036, gpt2 0.0052 (log-probs
     * down to about -13); trained 60 steps on 32 examples, 0.0133 and 0.0048 (log-probs down to -18).
     */
    static final float LOG_PROB_TOLERANCE = 0.03f;
    /** Largest |fp16 - fp32| end score relative to the largest |fp32 end score|. Measured: llama 0.0006, gpt2 0.0016. */
    static final float SCORE_RELATIVE_TOLERANCE = 0.01f;

    private static Tokenizer tokenizer;
    private static final Map<String, CausalLM> trained = new java.util.HashMap<>();

    @BeforeAll
    static void trainTinyModels() throws Exception {
        tokenizer = ModelTesting.beaverTokenizer();
        for (ModelConfig config : List.of(ModelConfig.tinyLlama(tokenizer.vocabSize()), ModelConfig.tinyGpt2(tokenizer.vocabSize()))) {
            Engine.getInstance().setRandomSeed(7);
            CausalLM lm = CausalLM.create(config, Device.cpu(), 7);
            try (AdamW opt = new AdamW(lm.namedParameters(), AdamW.Config.reference(0.0))) {
                TrainingRun.Data data = TrainingRun.data(tokenizer, 16);
                for (int i = 0; i < 40; i++) TrainingRun.step(lm, opt, data, 3e-3, 1.0);
            }
            trained.put(config.modelType(), lm);
        }
    }

    @org.junit.jupiter.api.AfterAll
    static void close() {
        trained.values().forEach(CausalLM::close);
        tokenizer.close();
    }

    /** Prompts + responses left-padded to one width, as PPO's rollouts are (the first rows' pad queries see no key). */
    private static Tokenizer.Batch leftPadded(int n) throws Exception {
        List<long[]> rows = new ArrayList<>();
        for (String[] r : ModelTesting.sftRecords(n)) rows.add(tokenizer.encodeSft(r[0], r[1], 96).ids());
        return tokenizer.pad(rows, 96, Tokenizer.Padding.LEFT);
    }

    @Test
    void referenceLogProbabilitiesInHalfPrecisionAgreeWithFp32() throws Exception {
        Tokenizer.Batch batch = leftPadded(16);
        for (Map.Entry<String, CausalLM> e : trained.entrySet()) {
            CausalLM lm = e.getValue();
            try (CausalLM fp32 = lm.frozenCopy(DataType.FLOAT32); CausalLM fp16 = lm.frozenCopy(DataType.FLOAT16);
                 NDManager step = lm.manager().newSubManager()) {
                assertEquals(DataType.FLOAT16, fp16.dtype());
                NDArray ids = batch.ids(step), mask = batch.mask(step);
                NDArray exact = fp32.logProbs(ids, mask), half = fp16.logProbs(ids, mask);    // (B, T-1)
                assertEquals(DataType.FLOAT32, half.getDataType(), "log-probabilities are float32 whatever the weights");
                assertEquals(DataType.FLOAT32, fp16.forward(ids, mask).getDataType(), "so are logits");
                float[] a = exact.toFloatArray(), b = half.toFloatArray();
                int width = batch.length() - 1;
                float worst = 0, lowest = 0;
                boolean someRowPadded = false;
                for (int row = 0; row < batch.size(); row++) {
                    for (int t = 0; t < width; t++) {
                        assertTrue(Float.isFinite(b[row * width + t]), e.getKey() + ": log-prob (" + row + ", " + t + ") is " + b[row * width + t]);
                        boolean real = batch.attentionMask()[row * batch.length() + t] == 1 && batch.attentionMask()[row * batch.length() + t + 1] == 1;
                        someRowPadded |= batch.attentionMask()[row * batch.length() + t] == 0;
                        if (!real) continue;
                        worst = Math.max(worst, Math.abs(a[row * width + t] - b[row * width + t]));
                        lowest = Math.min(lowest, a[row * width + t]);
                    }
                }
                assertTrue(someRowPadded, "the batch has left padding (fully masked query rows)");
                System.out.printf("fp16 vs fp32 %s: max |log-prob difference| %.4f at real tokens (log-probs down to %.1f)%n",
                        e.getKey(), worst, lowest);
                assertTrue(lowest < -5, e.getKey() + ": the trained model's distributions are peaked (lowest log-prob " + lowest + ")");
                assertTrue(worst < LOG_PROB_TOLERANCE, e.getKey() + ": max |fp16 - fp32| log-prob " + worst);
            }
        }
    }

    @Test
    void endScoresInHalfPrecisionAgreeWithFp32AndTheWeightsTakeHalfTheBytes() throws Exception {
        List<SftRecord> answers = new ArrayList<>();
        for (String[] r : ModelTesting.sftRecords(24)) answers.add(new SftRecord(r[0], r[1]));
        for (Map.Entry<String, CausalLM> e : trained.entrySet()) {
            ScoreModel model = ScoreModel.fromCausalLM(e.getValue(), ScoreType.REWARD, 3);
            model.setTrainable(false);
            Scorer scorer = new Scorer(model, tokenizer);
            float[] exact = scorer.endScores(answers, 8, 96);                                      // right-padded batches
            long fp32Bytes = bytes(model);
            NDArray embedding = model.namedParameters().get(e.getKey().equals("gpt2") ? "transformer.wte.weight" : "model.embed_tokens.weight");
            model.castFrozen(DataType.FLOAT16);
            assertTrue(embedding.isReleased(), "the fp32 weights are freed, not kept beside the fp16 ones");
            assertEquals(DataType.FLOAT16, model.dtype());
            long fp16Bytes = bytes(model);
            long head = 4L * (model.config().hiddenSize() + 1);                                    // the head stays fp32
            assertEquals((fp32Bytes - head) / 2 + head, fp16Bytes, "half the body's bytes");

            float[] half = scorer.endScores(answers, 8, 96);
            float largest = 0, worst = 0;
            for (int i = 0; i < exact.length; i++) {
                assertTrue(Float.isFinite(half[i]), e.getKey() + ": score " + i + " is " + half[i]);
                largest = Math.max(largest, Math.abs(exact[i]));
                worst = Math.max(worst, Math.abs(exact[i] - half[i]));
            }
            System.out.printf("fp16 vs fp32 %s: max |end score difference| %.2e, %.4f of the largest |score| %.3f%n",
                    e.getKey(), worst, worst / largest, largest);
            assertTrue(worst / largest < SCORE_RELATIVE_TOLERANCE, e.getKey() + ": relative end-score difference " + worst / largest);

            // critics read left-padded sequences: the per-token scores stay finite and float32 there too
            try (NDManager step = model.manager().newSubManager()) {
                Tokenizer.Batch batch = leftPadded(8);
                NDArray scores = model.scores(batch.ids(step), batch.mask(step), false).scores();  // (B, T)
                assertEquals(DataType.FLOAT32, scores.getDataType());
                for (float s : scores.toFloatArray()) assertTrue(Float.isFinite(s), e.getKey() + ": left-padded score " + s);
            }
            model.close();
        }
    }

    @Test
    void onlyFrozenModelsWithoutAdaptersAreCast() throws Exception {
        try (ScoreModel model = ScoreModel.create(ModelConfig.tinyLlama(tokenizer.vocabSize()), ScoreType.REWARD, Device.cpu(), 1)) {
            IllegalStateException trainable = assertThrows(IllegalStateException.class, () -> model.castFrozen(DataType.FLOAT16));
            assertTrue(trainable.getMessage().contains("not differentiable"), trainable.getMessage());
            model.attachLora(new LoraConfig(4, 8, 0.0, List.of()), "base", 1);
            model.setTrainable(false);
            IllegalStateException adapted = assertThrows(IllegalStateException.class, () -> model.castFrozen(DataType.FLOAT16));
            assertTrue(adapted.getMessage().contains("LoRA"), adapted.getMessage());
            assertEquals(DataType.FLOAT32, model.dtype(), "nothing was cast");
        }
    }

    @Test
    void frozenDtypeAcceptsFloat32AndFloat16AndRefusesBfloat16NamingTheKey() {
        assertEquals(DataType.FLOAT32, Precision.frozenDtype("frozen_dtype", "float32"));
        assertEquals(DataType.FLOAT16, Precision.frozenDtype("frozen_dtype", "float16"));
        saferlhf.util.InputError bf16 = assertThrows(saferlhf.util.InputError.class, () -> Precision.frozenDtype("frozen_dtype", "bfloat16"));
        assertTrue(bf16.getMessage().startsWith("frozen_dtype 'bfloat16': expected float32 or float16"), bf16.getMessage());
        assertTrue(bf16.getMessage().contains("aborts the JVM"), bf16.getMessage());
    }

    private static long bytes(ScoreModel model) {
        long n = 0;
        for (NDArray p : model.namedParameters().values()) n += p.size() * p.getDataType().getNumOfBytes();
        return n;
    }
}
