package saferlhf.pipeline;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.Offline;
import saferlhf.cli.Main;
import saferlhf.model.LoraConfig;
import saferlhf.model.ModelConfig;
import saferlhf.train.Configs;
import saferlhf.train.SftConfig;

/** The memory estimate's arithmetic against hand-computed values; its accuracy is checked against measured peaks by bench memory. */
class MemoryPlanTest {
    static { Offline.apply(); }

    /** H 8, 2 layers, 2 heads, 1 KV head (K = 4), MLP 16, vocab 10. */
    private static final ModelConfig SMALL = new ModelConfig("llama", 10, 8, 2, 2, 1, 16, 32, 1e-6, 10000.0, false, false, 1, 2, 0);

    @Test
    void buildingBlocksMatchTheCountsInTheClassComment() {
        // training, B 3, L 5: per layer 15 tokens x (8*8 + 2*4 + 5*16) + 3*2*5*5 = 15*152 + 150 = 2,430 floats;
        // head 15 x (3*8 + 2*10) = 660; backward one more layer: 2 * 2,430 + 660 + 2,430 = 7,950 floats
        assertEquals(4 * 7950.0, MemoryPlan.trainingActivations(SMALL, 3, 5, true));
        assertEquals(4 * (7950.0 - 15 * 2 * 10), MemoryPlan.trainingActivations(SMALL, 3, 5, false));
        // no grad, B 3, L 5, T 7: attention 15 x (13*8 + 6*4) + 2*3*2*5*7 = 1,920 + 420 = 2,340; MLP 15 x (5*8 + 3*16) = 1,320
        assertEquals(4 * (2340.0 + 15 * 2 * 10), MemoryPlan.forwardTransient(SMALL, 3, 5, 7, true));
        // KV cache: 2 layers x 2 (k, v) x B 3 x K 4 x T 7
        assertEquals(4 * 2 * 2 * 3 * 4 * 7.0, MemoryPlan.kvCache(SMALL, 3, 7));
        assertEquals(4.0 * SMALL.parameterCount(), MemoryPlan.weights(SMALL));
        // LoRA on q_proj, v_proj: frozen projections and norms keep less: per token 3*8 + 2*4 + 4*16 + 8 (the normed input
        // the adapters read) = 104 floats, so a layer is 15 x 104 + 150 = 1,710; head 15 x 8 + 2 x 15 x 10 = 420
        assertEquals(4 * (2 * 1710.0 + 420 + 1710), MemoryPlan.trainingActivations(SMALL, 3, 5, true, LoraConfig.of(4, 8, 0, "q_proj,v_proj")));
    }

    @Test
    void aTrainingStepHoldsWeightsGradientsTwoMomentsAndActivations() {
        MemoryPlan.Plan p = MemoryPlan.trainStep(SMALL, 3, 5);
        double mib = 1024.0 * 1024.0, w = 4.0 * SMALL.parameterCount() / mib;
        assertEquals(MemoryPlan.RUNTIME_MIB + 4 * w + MemoryPlan.trainingActivations(SMALL, 3, 5, true) / mib, p.peakMib(), 1e-9);
        assertEquals(p.peakMib(), p.peakHalfFrozenMib(), 1e-9, "nothing is frozen");
        assertTrue(p.table(1).contains("fits in 1 MiB: NO"), p.table(1));
    }

    @Test
    void sftWithLoraTrainsOnlyTheAdapters(@TempDir Path dir) throws Exception {
        SftConfig full = Configs.override(SftConfig.quick(), List.of("model_name_or_path=preset:llama-10m", "output_dir=" + dir));
        SftConfig lora = Configs.override(full, List.of("lora_rank=8", "lora_target_modules=q_proj,v_proj"));
        MemoryPlan.Plan a = MemoryPlan.sft(full), b = MemoryPlan.sft(lora);
        ModelConfig c = MemoryPlan.modelConfig("preset:llama-10m", "");
        // q_proj (H x H) and v_proj (K x H) in each of 6 layers: r (in + out)
        long adapters = 6L * 8 * ((384 + 384) + (384 + 128));
        assertEquals(adapters, saferlhf.model.Lora.parameterCount(c, LoraConfig.of(8, 16, 0, "q_proj,v_proj")));
        double mib = 1024.0 * 1024.0;
        double activations = (MemoryPlan.trainingActivations(c, 16, 96, true)
                - MemoryPlan.trainingActivations(c, 16, 96, true, lora.lora())) / mib;
        assertTrue(activations > 0, "frozen weights keep fewer activations");
        assertEquals(a.peakMib() - 3 * 4.0 * c.parameterCount() / mib + 4 * 4.0 * adapters / mib - activations, b.peakMib(), 1e-6,
                "LoRA: no gradients or moments for the base, four copies of the adapters, fewer activations");
    }

    @Test
    void thePlanOptionPrintsTheEstimateAndTrainsNothing(@TempDir Path dir) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Main.commandLine().execute("sft", "--preset", "quick", "--plan", "2g", "output_dir=" + dir.resolve("run"));
        } finally {
            System.setOut(stdout);
        }
        String printed = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, printed);
        assertTrue(printed.contains("expected peak (resident)") && printed.contains("fits in 2048 MiB: yes"), printed);
        assertFalse(Files.exists(dir.resolve("run")), "--plan must not start training");
    }

    @Test
    void memorySizesParse() {
        assertEquals(24 * 1024, MemoryPlan.parseMib("24g"));
        assertEquals(80 * 1024, MemoryPlan.parseMib("80GiB"));
        assertEquals(512, MemoryPlan.parseMib("512m"));
        assertEquals(1000, MemoryPlan.parseMib("1000"));
        assertThrows(saferlhf.util.InputError.class, () -> MemoryPlan.parseMib("lots"));
    }
}
