package saferlhf.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA adapters: an adapted model starts equal to its base, only adapters train, adapters off is the base, saved
 * folders follow PEFT's layout, and merged weights give the adapted model's outputs.
 */
class LoraTest {
    static { ModelTesting.class.getName(); }

    private static final int V = 599;
    private static final List<String> LLAMA_ALL = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    private static final List<String> GPT2_ALL = List.of("c_attn", "c_proj", "c_fc");

    /** A fixed right-padded batch of 2 rows. */
    private static NDArray[] batch(NDManager m) {
        NDArray ids = m.create(new long[] {1, 5, 6, 7, 8, 9, 1, 40, 41, 42, 0, 0}, new Shape(2, 6));
        NDArray mask = m.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, new Shape(2, 6));
        return new NDArray[] {ids, mask};
    }

    private static float[] logits(CausalLM lm) {
        try (NDManager m = lm.manager().newSubManager()) {
            NDArray[] b = batch(m);
            return lm.forward(b[0], b[1]).toFloatArray();
        }
    }

    @Test
    void atInitialisationTheAdaptedModelComputesExactlyTheBaseLogits() {
        for (ModelConfig config : List.of(ModelConfig.tinyLlama(V), ModelConfig.tinyGpt2(V))) {
            try (CausalLM lm = CausalLM.create(config, Device.cpu(), 7)) {
                float[] base = logits(lm);
                Lora lora = lm.attachLora(new LoraConfig(4, 16, 0.0, config.isGpt2() ? GPT2_ALL : LLAMA_ALL), "base", 3);
                assertEquals(config.isGpt2() ? 4 * 4 : 7 * 4, lora.modules().size(), "every projection of 4 layers");
                assertArrayEquals(base, logits(lm), config.modelType() + ": B = 0, so the adapter term is exactly 0");
                // A ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)); B = 0
                NDArray a = lora.namedParameters().get(lora.modules().get(0) + ".lora_A.weight");
                float bound = (float) (1 / Math.sqrt(128));
                float[] av = a.toFloatArray();
                float max = 0;
                for (float v : av) max = Math.max(max, Math.abs(v));
                assertTrue(max <= bound && max > 0.9f * bound, "A's bound " + max + " vs " + bound);
                for (NDArray p : lora.namedParameters().values()) assertTrue(p.hasGradient());
            }
        }
    }

    @Test
    void onlyAdaptersReceiveGradientsAndOptimizerStateAndBaseWeightsStayBitIdentical() {
        for (ModelConfig config : List.of(ModelConfig.tinyLlama(V), ModelConfig.tinyGpt2(V))) {
            try (CausalLM lm = CausalLM.create(config, Device.cpu(), 11)) {
                Lora lora = lm.attachLora(new LoraConfig(4, 8, 0.0, List.of()), "base", 5); // PEFT's default targets
                assertEquals(config.isGpt2() ? List.of("c_attn") : List.of("q_proj", "v_proj"), lora.targets());
                Map<String, HostTensor> before = lm.toHost();
                assertEquals(lora.namedParameters().keySet(), lm.trainableParameters().keySet(), "only the adapters train");
                // AdamW given every parameter keeps state for the trainable ones only
                Map<String, NDArray> all = new LinkedHashMap<>(lm.namedParameters());
                all.putAll(lora.namedParameters());
                try (AdamW optimizer = new AdamW(all, AdamW.Config.reference(0.01))) {
                    assertEquals(lora.namedParameters().keySet(), optimizer.m().keySet());
                    assertEquals(lora.namedParameters().keySet(), optimizer.v().keySet());
                    for (int step = 0; step < 2; step++) {
                        try (NDManager m = lm.manager().newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray[] b = batch(m);
                            gc.backward(lm.logProbs(b[0], b[1]).sum().neg());
                        }
                        for (Map.Entry<String, NDArray> e : lm.namedParameters().entrySet()) {
                            assertFalse(e.getValue().hasGradient(), e.getKey() + " is frozen");
                        }
                        if (step == 0) {
                            // B = 0 at the first step, so only B gets a non-zero gradient (dL/dA = B^T ... = 0)
                            for (Map.Entry<String, NDArray> e : lora.namedParameters().entrySet()) {
                                try (NDArray g = e.getValue().getGradient()) {
                                    double norm = g.square().sum().getFloat();
                                    if (e.getKey().endsWith("lora_B.weight")) assertTrue(norm > 0, e.getKey());
                                    else assertEquals(0.0, norm, 0.0, e.getKey());
                                }
                            }
                        }
                        double norm = Nd.clipGradNorm(all.values(), 1.0);
                        assertTrue(norm > 0);
                        optimizer.step(1e-2);
                    }
                    assertEquals(2, optimizer.step());
                }
                Map<String, HostTensor> after = lm.toHost();
                for (String name : before.keySet()) assertArrayEquals(before.get(name).data(), after.get(name).data(), name);
                for (NDArray p : lora.namedParameters().values()) {
                    float[] v = p.toFloatArray();
                    double sum = 0;
                    for (float x : v) sum += Math.abs(x);
                    assertTrue(sum > 0, "the adapters moved");
                }
            }
        }
    }

    @Test
    void adaptersOffGiveTheBaseLogitsInsideTheScopeOnly() {
        try (CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(V), Device.cpu(), 13)) {
            float[] base = logits(lm);
            Lora lora = lm.attachLora(new LoraConfig(4, 8, 0.0, LLAMA_ALL), "base", 1);
            LoraTesting.randomizeB(lora, 2);
            float[] adapted = logits(lm);
            assertTrue(ModelTesting.maxAbsDiff(base, adapted) > 1e-3, "the adapters change the logits");
            try (Lora.Off off = lora.off()) {
                assertArrayEquals(base, logits(lm), "adapters off: the base model, bit for bit");
                try (Lora.Off nested = lora.off()) {
                    assertFalse(lora.enabled());
                }
                assertFalse(lora.enabled(), "closing a nested scope keeps them off");
            }
            assertArrayEquals(adapted, logits(lm), "back on after the scope");
            assertThrows(IllegalStateException.class, () -> {
                try (Lora.Off off = lora.off()) {
                    throw new IllegalStateException("boom");
                }
            });
            assertTrue(lora.enabled(), "an exception inside the scope still switches them back on");
        }
    }

    @Test
    void dropoutActsOnlyWhileGradientsAreRecordedAndReplaysFromTheDrawCount() {
        try (CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(V), Device.cpu(), 17)) {
            Lora lora = lm.attachLora(new LoraConfig(4, 8, 0.5, LLAMA_ALL), "base", 1);
            LoraTesting.randomizeB(lora, 3);
            float[] eval = logits(lm);
            assertArrayEquals(eval, logits(lm), "no dropout outside a gradient collector");
            assertEquals(0, lora.dropoutDraws());
            float[] first, second, replay;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                first = logits(lm);
                assertEquals(28, lora.dropoutDraws(), "one mask per adapted projection");
                second = logits(lm);
            }
            lora.load(lora.toHost(), 0);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                replay = logits(lm);
            }
            assertTrue(ModelTesting.maxAbsDiff(eval, first) > 1e-4, "dropout changes the training forward pass");
            assertTrue(ModelTesting.maxAbsDiff(first, second) > 1e-4, "fresh masks each pass");
            assertArrayEquals(first, replay, "the same draw count gives the same masks");
        }
    }

    @Test
    void aTargetThatMatchesNothingIsRefusedWithTheModuleNames() {
        try (CausalLM lm = CausalLM.create(ModelConfig.tinyGpt2(V), Device.cpu(), 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> lm.attachLora(new LoraConfig(4, 8, 0, List.of("q_proj")), "base", 1));
            assertTrue(e.getMessage().contains("'q_proj'") && e.getMessage().contains("c_attn"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new LoraConfig(0, 8, 0, List.of()));
        assertThrows(IllegalArgumentException.class, () -> LoraConfig.check("lora_", 4, 8, 1.0));
        assertNull(LoraConfig.of(0, 8, 0, "q_proj"));
        assertEquals(List.of("q_proj", "v_proj"), LoraConfig.of(8, 16, 0.05, " q_proj, v_proj ").targetModules());
    }

    @Test
    void savedAdaptersUsePeftsLayoutAndMergeToTheAdaptedLogits(@TempDir Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        for (ModelConfig config : List.of(ModelConfig.tinyLlama(V), ModelConfig.tinyGpt2(V))) {
            Path base = dir.resolve(config.modelType() + "-base"), adapter = dir.resolve(config.modelType() + "-adapter");
            Path merged = dir.resolve(config.modelType() + "-merged");
            float[] adapted;
            try (Tokenizer tokenizer = ModelTesting.beaverTokenizer(); CausalLM lm = CausalLM.create(config, Device.cpu(), 21)) {
                ModelFiles.save(lm, tokenizer, base);
                Lora lora = lm.attachLora(new LoraConfig(4, 16, 0.05, config.isGpt2() ? GPT2_ALL : LLAMA_ALL), base.toString(), 1);
                LoraTesting.randomizeB(lora, 4);
                adapted = logits(lm);
                ModelFiles.save(lm, tokenizer, adapter); // a model with adapters saves as an adapter folder
            }
            assertTrue(Files.isRegularFile(adapter.resolve("adapter_config.json")));
            assertFalse(Files.exists(adapter.resolve("model.safetensors")), "the frozen base is not copied");
            assertFalse(Files.exists(adapter.resolve("config.json")), "PEFT folders carry no model config");
            assertTrue(ModelFiles.isComplete(adapter));

            JsonNode c = json.readTree(adapter.resolve("adapter_config.json").toFile());
            assertEquals("LORA", c.get("peft_type").asText());
            assertEquals(4, c.get("r").asInt());
            assertEquals(16, c.get("lora_alpha").asInt());
            assertEquals(0.05, c.get("lora_dropout").asDouble());
            assertEquals("none", c.get("bias").asText());
            assertEquals("CAUSAL_LM", c.get("task_type").asText());
            assertEquals(config.isGpt2(), c.get("fan_in_fan_out").asBoolean(), "true for GPT-2's Conv1D");
            assertEquals(base.toString(), c.get("base_model_name_or_path").asText());
            assertEquals(config.isGpt2() ? GPT2_ALL : LLAMA_ALL, json.convertValue(c.get("target_modules"), List.class));

            SafeTensors file = SafeTensors.open(adapter.resolve("adapter_model.safetensors"));
            assertEquals("pt", file.metadata().get("format"));
            int layers = 4, r = 4;
            assertEquals((config.isGpt2() ? 4 : 7) * layers * 2, file.names().size());
            if (config.isGpt2()) {
                String p = "base_model.model.transformer.h.0.";
                assertArrayEquals(new long[] {r, 128}, file.info(p + "attn.c_attn.lora_A.weight").shape());      // (r, in)
                assertArrayEquals(new long[] {384, r}, file.info(p + "attn.c_attn.lora_B.weight").shape());      // (out = 3H, r)
                assertArrayEquals(new long[] {r, 128}, file.info(p + "attn.c_proj.lora_A.weight").shape());
                assertArrayEquals(new long[] {512, r}, file.info(p + "mlp.c_fc.lora_B.weight").shape());
                assertArrayEquals(new long[] {r, 512}, file.info(p + "mlp.c_proj.lora_A.weight").shape());
                assertArrayEquals(new long[] {128, r}, file.info(p + "mlp.c_proj.lora_B.weight").shape());
            } else {
                String p = "base_model.model.model.layers.0.";
                assertArrayEquals(new long[] {r, 128}, file.info(p + "self_attn.q_proj.lora_A.weight").shape());
                assertArrayEquals(new long[] {128, r}, file.info(p + "self_attn.q_proj.lora_B.weight").shape());
                assertArrayEquals(new long[] {64, r}, file.info(p + "self_attn.k_proj.lora_B.weight").shape()); // 2 kv heads x 32
                assertArrayEquals(new long[] {352, r}, file.info(p + "mlp.up_proj.lora_B.weight").shape());
                assertArrayEquals(new long[] {r, 352}, file.info(p + "mlp.down_proj.lora_A.weight").shape());
                assertTrue(file.contains("base_model.model.model.layers.3.mlp.gate_proj.lora_A.weight"));
            }

            // the adapter folder loads as base + adapters (merged), and `lora merge` writes a full folder
            try (CausalLM loaded = ModelFiles.loadCausalLM(adapter, Device.cpu())) {
                float diff = ModelTesting.maxAbsDiff(adapted, logits(loaded));
                System.out.printf("LoRA merge (%s): max |adapted - merged| logits = %.3g%n", config.modelType(), diff);
                assertTrue(diff <= 1e-5, config.modelType() + ": merged logits differ by " + diff);
            }
            assertEquals(0, saferlhf.cli.Main.run("lora", "merge", "--adapter", adapter.toString(), "--out", merged.toString()));
            assertTrue(Files.isRegularFile(merged.resolve("model.safetensors")) && Files.isRegularFile(merged.resolve("config.json")));
            assertFalse(PeftFiles.isAdapterFolder(merged));
            try (CausalLM full = ModelFiles.loadCausalLM(merged, Device.cpu())) {
                assertTrue(ModelTesting.maxAbsDiff(adapted, logits(full)) <= 1e-5);
                assertEquals(null, full.lora());
            }
            // the base passed explicitly wins over base_model_name_or_path
            Path moved = dir.resolve(config.modelType() + "-moved-base");
            Files.move(base, moved);
            assertEquals(2, saferlhf.cli.Main.run("lora", "merge", "--adapter", adapter.toString(), "--out", merged.toString()),
                    "the recorded base is gone");
            assertEquals(0, saferlhf.cli.Main.run("lora", "merge", "--adapter", adapter.toString(), "--base", moved.toString(),
                    "--out", merged.toString()));
        }
    }

    @Test
    void aScoreModelSavesItsHeadAsPeftsModulesToSave(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("sft"), adapter = dir.resolve("rm-adapter");
        float[] adapted;
        try (Tokenizer tokenizer = ModelTesting.beaverTokenizer(); CausalLM lm = CausalLM.create(ModelConfig.tinyGpt2(V), Device.cpu(), 3)) {
            ModelFiles.save(lm, tokenizer, base);
            try (ScoreModel rm = ScoreModel.fromCausalLM(lm, ScoreType.REWARD, 1)) {
                Lora lora = rm.attachLora(new LoraConfig(2, 4, 0, List.of("c_attn", "c_fc")), base.toString(), 1);
                LoraTesting.randomizeB(lora, 5);
                rm.head().get("score_head.bias").set(new float[] {0.25f});
                Map<String, NDArray> trainable = rm.trainableParameters();
                assertTrue(trainable.containsKey("score_head.weight") && trainable.containsKey("score_head.bias"), "the head trains");
                assertEquals(lora.namedParameters().size() + 2, trainable.size());
                rm.normalizer().setStatistics(0.5, 2.0, 10);
                adapted = endScores(rm);
                ModelFiles.save(rm, tokenizer, adapter);
            }
        }
        JsonNode c = new ObjectMapper().readTree(adapter.resolve("adapter_config.json").toFile());
        assertEquals("score_head", c.get("modules_to_save").get(0).asText());
        assertTrue(c.get("task_type").isNull());
        SafeTensors file = SafeTensors.open(adapter.resolve("adapter_model.safetensors"));
        assertArrayEquals(new long[] {1, 128}, file.info("base_model.model.score_head.weight").shape());
        assertArrayEquals(new long[] {1}, file.info("base_model.model.score_head.bias").shape());
        try (ScoreModel loaded = ModelFiles.loadScoreModel(adapter, Device.cpu())) {
            assertEquals(ScoreType.REWARD, loaded.scoreType());
            assertEquals(0.5, loaded.normalizer().mean(), 0.0);
            assertTrue(ModelTesting.maxAbsDiff(adapted, endScores(loaded)) <= 1e-5);
        }
    }

    @Test
    void foreignAdapterConfigsAreReadOrRefusedNamingTheField(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, "
                + "\"use_rslora\": true, \"target_modules\": \"q_proj|v_proj\", \"base_model_name_or_path\": \"meta-llama/Llama-2-7b-hf\"}");
        PeftFiles.AdapterConfig c = PeftFiles.readConfig(dir);
        assertEquals(8 / Math.sqrt(4), c.scaling(), 1e-12, "rsLoRA: alpha / sqrt(r)");
        // merging into q_proj of layer 1, W (out 128, in 128) += s * B A, with s = 4 here
        Map<String, HostTensor> weights = new LinkedHashMap<>();
        ModelConfig tiny = ModelConfig.tinyLlama(V);
        Lora.projections(tiny).forEach((module, shape) -> weights.put(module + ".weight",
                new HostTensor(new float[(int) (shape[0] * shape[1])], shape)));
        float[] a = new float[4 * 128], b = new float[128 * 4];
        a[0] = 1f;       // A[0, 0]
        b[3 * 4] = 0.5f; // B[3, 0]
        Map<String, HostTensor> adapters = Map.of(
                "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight", new HostTensor(a, new long[] {4, 128}),
                "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight", new HostTensor(b, new long[] {128, 4}));
        LazyTensors merged = lazy(weights, new LinkedHashMap<>());
        PeftFiles.mergeInto(merged, tiny, lazy(adapters, new LinkedHashMap<>()), c);
        float[] w = merged.get("model.layers.1.self_attn.q_proj.weight").data();
        assertEquals(4 * 0.5f, w[3 * 128], 0f, "W[3, 0] += s * B[3, 0] * A[0, 0]");
        assertEquals(0f, w[0], 0f);
        // the base named by a hub id is not a folder here: the message says what to do
        IOException base = assertThrows(IOException.class, () -> ModelFiles.loadCausalLM(dir, Device.cpu()));
        assertTrue(base.getMessage().contains("base_model_name_or_path") && base.getMessage().contains("--base"), base.getMessage());
        // what the kit cannot apply is refused with the field named
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 4, \"use_dora\": true}");
        IOException dora = assertThrows(IOException.class, () -> PeftFiles.readConfig(dir));
        assertTrue(dora.getMessage().contains("adapter_config.json: field 'use_dora'"), dora.getMessage());
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"IA3\"}");
        IOException type = assertThrows(IOException.class, () -> PeftFiles.readConfig(dir));
        assertTrue(type.getMessage().contains("field 'peft_type'"), type.getMessage());
    }

    @Test
    void stackedAdapterFoldersLoadAsOneChainAndACycleIsRefused(@TempDir Path dir) throws Exception {
        ModelConfig tiny = ModelConfig.tinyLlama(V);
        Path base = dir.resolve("base"), first = dir.resolve("first"), second = dir.resolve("second");
        float[] adapted;
        try (Tokenizer tokenizer = ModelTesting.beaverTokenizer()) {
            try (CausalLM lm = CausalLM.create(tiny, Device.cpu(), 41)) {
                ModelFiles.save(lm, tokenizer, base);
                LoraTesting.randomizeB(lm.attachLora(new LoraConfig(4, 8, 0, LLAMA_ALL), base.toString(), 1), 7);
                ModelFiles.save(lm, tokenizer, first);
            }
            try (CausalLM lm = ModelFiles.loadCausalLM(first, Device.cpu())) { // adapters on the merged first stage
                LoraTesting.randomizeB(lm.attachLora(new LoraConfig(2, 4, 0, List.of("q_proj", "down_proj")), first.toString(), 2), 8);
                adapted = logits(lm);
                ModelFiles.save(lm, tokenizer, second);
            }
        }
        assertEquals(List.of(second, first, base), PeftFiles.chain(second, null));
        assertEquals(tiny, ModelFiles.readConfig(second));
        try (CausalLM loaded = ModelFiles.loadCausalLM(second, Device.cpu())) {
            float diff = ModelTesting.maxAbsDiff(adapted, logits(loaded));
            assertTrue(diff <= 1e-5, "two stacked adapters merged: logits differ by " + diff);
        }
        // a PEFT folder carries no tokenizer: the nearest base's is the model's
        assertEquals(second, ModelFiles.tokenizerFolder(second));
        Files.delete(second.resolve("tokenizer.json"));
        assertEquals(first, ModelFiles.tokenizerFolder(second));
        // the lower folder pointed back at the upper one: refused, naming the folder, whichever way it is read
        Path config = first.resolve(PeftFiles.CONFIG_FILE);
        Files.writeString(config, Files.readString(config).replace(base.toString(), second.toString()));
        for (org.junit.jupiter.api.function.Executable read : List.<org.junit.jupiter.api.function.Executable>of(
                () -> ModelFiles.readConfig(second), () -> ModelFiles.loadCausalLM(second, Device.cpu()),
                () -> ModelFiles.requireModelOrAdapterFolder(second))) {
            saferlhf.util.InputError e = assertThrows(saferlhf.util.InputError.class, read);
            assertTrue(e.getMessage().startsWith(second + ": more than 8 adapter folders stacked"), e.getMessage());
        }
    }

    /** A lazy map over host tensors that counts how often each is read (and gives a fresh copy each time). */
    private static LazyTensors lazy(Map<String, HostTensor> host, Map<String, Integer> reads) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        host.forEach((name, t) -> shapes.put(name, t.shape()));
        return new LazyTensors(shapes, name -> {
            reads.merge(name, 1, Integer::sum);
            return host.get(name).data().clone();
        });
    }

    @Test
    void mergingHappensAsEachWeightIsReadSoLoadingHoldsOneTensorAtATime() {
        ModelConfig tiny = ModelConfig.tinyLlama(V);
        List<String> targets = List.of("q_proj", "v_proj");
        try (CausalLM lm = CausalLM.create(tiny, Device.cpu(), 23)) {
            Map<String, HostTensor> host = lm.toHost();
            Lora lora = lm.attachLora(new LoraConfig(4, 8, 0, targets), "base", 2);
            LoraTesting.randomizeB(lora, 6);
            float[] adapted = logits(lm);
            Map<String, HostTensor> adapterTensors = new LinkedHashMap<>();
            lora.toHost().forEach((name, t) -> adapterTensors.put(PeftFiles.PREFIX + name, t));
            Map<String, Integer> reads = new LinkedHashMap<>();
            LazyTensors weights = lazy(host, reads);
            PeftFiles.mergeInto(weights, tiny, lazy(adapterTensors, new LinkedHashMap<>()),
                    new PeftFiles.AdapterConfig(4, 8, 0, targets, "base", false, List.of(), "CAUSAL_LM", false));
            assertEquals(Map.of(), reads, "merging reads no base weight: the adapter is added as each weight is read");
            String q = "model.layers.0.self_attn.q_proj.weight";
            HostTensor first = weights.get(q), second = weights.get(q);
            assertNotSame(first.data(), second.data(), "the merged weight is made when asked for, not held");
            assertArrayEquals(first.data(), second.data());
            assertTrue(ModelTesting.maxAbsDiff(host.get(q).data(), first.data()) > 1e-4, "the adapter is merged in");
            reads.clear();
            try (CausalLM merged = CausalLM.uninitialised(tiny, Device.cpu())) {
                merged.loadNamedParameters(weights);
                assertEquals(host.keySet(), reads.keySet());
                reads.forEach((name, n) -> assertEquals(1, n, name + ": read once when loaded"));
                float diff = ModelTesting.maxAbsDiff(adapted, logits(merged));
                assertTrue(diff <= 1e-5, "merged logits differ by " + diff);
            }
        }
    }

    @Test
    void aMisshapenLoraAIsAnInputErrorNamingTheAdapterFile(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("base"), adapter = dir.resolve("adapter");
        try (Tokenizer tokenizer = ModelTesting.beaverTokenizer(); CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(V), Device.cpu(), 3)) {
            ModelFiles.save(lm, tokenizer, base);
            lm.attachLora(new LoraConfig(4, 8, 0, List.of("q_proj")), base.toString(), 1);
            ModelFiles.save(lm, tokenizer, adapter);
        }
        Path file = adapter.resolve(PeftFiles.WEIGHTS_FILE);
        Map<String, HostTensor> tensors = new LinkedHashMap<>(SafeTensors.open(file).readAll());
        String a = PeftFiles.PREFIX + "model.layers.0.self_attn.q_proj.lora_A.weight";
        tensors.put(a, HostTensor.of(tensors.get(a).data())); // 1-D: (r * in)
        SafeTensors.write(file, tensors, Map.of("format", "pt"));
        saferlhf.util.InputError e = assertThrows(saferlhf.util.InputError.class, () -> ModelFiles.loadCausalLM(adapter, Device.cpu()));
        assertTrue(e.getMessage().startsWith(file + ": ") && e.getMessage().contains("lora_A [512]"), e.getMessage());
    }

    private static float[] endScores(ScoreModel model) {
        try (NDManager m = model.manager().newSubManager()) {
            NDArray[] b = batch(m);
            return model.scores(b[0], b[1].toType(DataType.INT64, false), false).endScores().toFloatArray();
        }
    }
}
