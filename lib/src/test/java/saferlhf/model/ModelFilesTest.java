package saferlhf.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.KitPaths;
import saferlhf.Offline;
import saferlhf.util.AtomicFiles;

/** Model folders: exact round trips, atomic saves, and parity with an independent PyTorch implementation. */
class ModelFilesTest {
    private static final Path PARITY = KitPaths.projectRoot().resolve("lib/src/test/resources/parity");
    private static final Device CPU = Device.cpu();

    @BeforeAll
    static void offline() { Offline.apply(); }

    @Test
    void causalLmRoundTripIsExact(@TempDir Path dir) throws Exception {
        try (Tokenizer tokenizer = Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
             CausalLM model = CausalLM.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), CPU, 3)) {
            ModelFiles.save(model, tokenizer, dir.resolve("sft"));
            try (CausalLM loaded = ModelFiles.loadCausalLM(dir.resolve("sft"), CPU);
                 Tokenizer reloaded = Tokenizer.load(dir.resolve("sft"))) {
                assertEquals(model.config(), loaded.config());
                assertWeightsEqual(model.toHost(), loaded.toHost());
                assertEquals(tokenizer.vocabSize(), reloaded.vocabSize());
                assertEquals(tokenizer.eosId(), reloaded.eosId());
            }
        }
    }

    @Test
    void scoreModelKeepsTypeAndNormalizerStatistics(@TempDir Path dir) throws Exception {
        try (ScoreModel cost = ScoreModel.create(ModelConfig.tinyLlama(64), ScoreType.COST, CPU, 5)) {
            cost.normalizer().update(new float[] {1f, -2f, 3f});
            cost.setNormalize(true);
            ModelFiles.save(cost, null, dir.resolve("cm"));
            assertTrue(Files.readString(dir.resolve("cm/saferlhf.json")).contains("cost > 0 means unsafe"));
            try (ScoreModel loaded = ModelFiles.loadScoreModel(dir.resolve("cm"), CPU)) {
                assertEquals(ScoreType.COST, loaded.scoreType());
                assertEquals(cost.normalizer().mean(), loaded.normalizer().mean());
                assertEquals(cost.normalizer().var(), loaded.normalizer().var());
                assertTrue(loaded.normalizing());
                assertEquals(cost.namedParameters().keySet(), loaded.namedParameters().keySet());
                for (String name : cost.namedParameters().keySet()) {
                    assertArrayEquals(cost.namedParameters().get(name).toFloatArray(),
                            loaded.namedParameters().get(name).toFloatArray(), name);
                }
            }
            assertThrows(IllegalArgumentException.class, () -> ModelFiles.loadScoreModel(copyAsCausal(dir), CPU));
        }
    }

    private static Path copyAsCausal(Path dir) throws Exception {
        try (CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(64), CPU, 1)) {
            ModelFiles.save(lm, null, dir.resolve("lm"));
        }
        return dir.resolve("lm");
    }

    @Test
    void anInterruptedSaveLeavesThePreviousModelLoadable(@TempDir Path dir) throws Exception {
        Path folder = dir.resolve("model");
        try (CausalLM first = CausalLM.create(ModelConfig.tinyLlama(64), CPU, 1);
             CausalLM second = CausalLM.create(ModelConfig.tinyLlama(64), CPU, 2)) {
            ModelFiles.save(first, null, folder);
            // a save that died while writing: a half-filled temporary folder next to the model
            Path partial = AtomicFiles.temporaryFolderFor(folder);
            Files.writeString(partial.resolve("config.json"), "{");
            try (CausalLM loaded = ModelFiles.loadCausalLM(folder, CPU)) {
                assertWeightsEqual(first.toHost(), loaded.toHost());
            }
            // a save that died between its two renames: only the previous folder is left
            Files.move(folder, AtomicFiles.previousOf(folder));
            try (CausalLM loaded = ModelFiles.loadCausalLM(folder, CPU)) {
                assertWeightsEqual(first.toHost(), loaded.toHost());
            }
            ModelFiles.save(second, null, folder);
            assertFalse(Files.exists(AtomicFiles.previousOf(folder)));
            try (CausalLM loaded = ModelFiles.loadCausalLM(folder, CPU)) {
                assertWeightsEqual(second.toHost(), loaded.toHost());
            }
        }
    }

    @Test
    void gpt2MatchesTheIndependentImplementation() throws Exception {
        assertParity(PARITY.resolve("gpt2"), "expected_logits.safetensors");
    }

    @Test
    void llamaMatchesTheIndependentImplementation() throws Exception {
        assertParity(PARITY.resolve("llama"), "expected_logits.safetensors");
    }

    @Test
    void qwen2WithQkvBiasAndTiedEmbeddingsMatches() throws Exception {
        assertParity(PARITY.resolve("qwen2"), "expected_logits.safetensors");
    }

    @Test
    void bf16CheckpointIsConvertedAndMatches(@TempDir Path dir) throws Exception {
        Files.copy(PARITY.resolve("llama/config.json"), dir.resolve("config.json"));
        Files.copy(PARITY.resolve("llama/model-bf16.safetensors"), dir.resolve("model.safetensors"));
        Files.copy(PARITY.resolve("llama/inputs.json"), dir.resolve("inputs.json"));
        Files.copy(PARITY.resolve("llama/expected_logits-bf16.safetensors"), dir.resolve("expected.safetensors"));
        assertParity(dir, "expected.safetensors");
    }

    @Test
    void missingWeightsAreNamed(@TempDir Path dir) throws Exception {
        Files.copy(PARITY.resolve("llama/config.json"), dir.resolve("config.json"));
        Map<String, HostTensor> weights = ModelFiles.readWeights(PARITY.resolve("llama"));
        weights.remove("model.layers.1.mlp.up_proj.weight");
        SafeTensors.write(dir.resolve("model.safetensors"), weights, Map.of());
        var error = assertThrows(IllegalArgumentException.class, () -> ModelFiles.loadCausalLM(dir, CPU));
        assertTrue(error.getMessage().contains("model.layers.1.mlp.up_proj.weight"), error.getMessage());
    }

    /** Logits at every unmasked position equal the reference program's within 1e-4. */
    private static void assertParity(Path folder, String expectedFile) throws Exception {
        JsonNode inputs = new ObjectMapper().readTree(folder.resolve("inputs.json").toFile());
        int batch = inputs.get("input_ids").size(), length = inputs.get("input_ids").get(0).size();
        long[] ids = new long[batch * length], mask = new long[batch * length];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < length; t++) {
                ids[b * length + t] = inputs.get("input_ids").get(b).get(t).asLong();
                mask[b * length + t] = inputs.get("attention_mask").get(b).get(t).asLong();
            }
        }
        HostTensor expected = SafeTensors.open(folder.resolve(expectedFile)).read("logits"); // (B, L, V)
        int vocab = (int) expected.shape()[2];
        try (CausalLM model = ModelFiles.loadCausalLM(folder, CPU); NDManager step = model.manager().newSubManager()) {
            NDArray logits = model.forward(step.create(ids, new Shape(batch, length)), step.create(mask, new Shape(batch, length)));
            float[] actual = logits.toFloatArray();
            double maxDiff = 0;
            for (int i = 0; i < batch * length; i++) {
                if (mask[i] == 0) continue;
                for (int v = 0; v < vocab; v++) {
                    maxDiff = Math.max(maxDiff, Math.abs(actual[i * vocab + v] - expected.data()[i * vocab + v]));
                }
            }
            System.out.printf("parity %s: max |logits - reference| = %.2e%n", folder.getFileName(), maxDiff);
            assertTrue(maxDiff <= 1e-4, folder + ": max |logits - reference| = " + maxDiff);
        }
    }

    private static void assertWeightsEqual(Map<String, HostTensor> a, Map<String, HostTensor> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String name : a.keySet()) {
            assertArrayEquals(a.get(name).shape(), b.get(name).shape(), name);
            assertArrayEquals(a.get(name).data(), b.get(name).data(), name);
        }
    }
}
