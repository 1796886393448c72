package saferlhf.train;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.KitPaths;
import saferlhf.Offline;
import saferlhf.model.CausalLM;
import saferlhf.model.HostTensor;
import saferlhf.model.ModelConfig;
import saferlhf.model.ModelFiles;
import saferlhf.model.PeftFiles;
import saferlhf.model.SafeTensors;
import saferlhf.model.ScoreModel;
import saferlhf.model.Tokenizer;

/** SFT, reward-model and DPO training with LoRA adapters: what checkpoints hold, exact resume, the reference model. */
class LoraTrainingTest {
    private static Path base;

    @BeforeAll
    static void baseModel(@TempDir Path dir) throws Exception {
        Offline.apply();
        base = dir.resolve("base");
        try (Tokenizer tokenizer = Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
             CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(tokenizer.vocabSize()), Device.cpu(), 3)) {
            ModelFiles.save(lm, tokenizer, base);
        }
    }

    private static SftConfig sft(Path out, String... overrides) {
        List<String> all = new ArrayList<>(List.of("model_name_or_path=" + base, "train_datasets=BeaverWorld-SFT/train:40/-1",
                "eval_datasets=", "eval_strategy=no", "epochs=2", "per_device_train_batch_size=8", "gradient_accumulation_steps=2",
                "lora_rank=4", "lora_alpha=16", "lora_dropout=0.1", "lora_target_modules=q_proj,v_proj,down_proj", "output_dir=" + out));
        all.addAll(List.of(overrides));
        return Configs.override(SftConfig.quick(), all);
    }

    @Test
    void anSftRunWithAdaptersCheckpointsOnlyWhatChangesAndResumesExactly(@TempDir Path dir) throws Exception {
        Map<String, HostTensor> baseBefore = ModelFiles.readWeights(base);
        TrainingLoop.Result whole = TrainingLoopTest.assertResumeIsExact(out -> sft(out), SftTrainer::new, dir, 4);
        assertEquals(6, whole.totalSteps());

        // the trained model is an adapter folder pointing at the base; the checkpoint holds adapters and their moments
        assertTrue(PeftFiles.isAdapterFolder(whole.modelFolder()));
        assertEquals(base.toString(), PeftFiles.readConfig(whole.modelFolder()).baseModelNameOrPath());
        Path checkpoint = dir.resolve("resumed/checkpoint");
        assertTrue(PeftFiles.isAdapterFolder(checkpoint.resolve("model")));
        assertFalse(Files.exists(checkpoint.resolve("model/model.safetensors")), "no copy of the frozen base");
        List<String> state = SafeTensors.open(checkpoint.resolve("optimizer.safetensors")).names();
        assertEquals(2 * 3 * 4 * 2, state.size(), "m and v of A and B on 3 modules x 4 layers");
        for (String name : state) assertTrue(name.contains(".lora_A.") || name.contains(".lora_B."), name);

        // the base folder is untouched, and the adapter folder loads as base + adapters
        Map<String, HostTensor> baseAfter = ModelFiles.readWeights(base);
        for (String name : baseBefore.keySet()) assertArrayEquals(baseBefore.get(name).data(), baseAfter.get(name).data(), name);
        try (CausalLM merged = ModelFiles.loadCausalLM(whole.modelFolder(), Device.cpu())) {
            assertNull(merged.lora());
            assertNotEquals(0f, maxDiff(baseAfter.get("model.layers.0.self_attn.q_proj.weight").data(),
                    merged.namedParameters().get("model.layers.0.self_attn.q_proj.weight").toFloatArray()), "the adapters moved q_proj");
            assertEquals(0f, maxDiff(baseAfter.get("model.layers.0.self_attn.k_proj.weight").data(),
                    merged.namedParameters().get("model.layers.0.self_attn.k_proj.weight").toFloatArray()), "k_proj had no adapter");
        }
    }

    @Test
    void aRewardModelWithAdaptersTrainsItsHeadAndResumesExactly(@TempDir Path dir) throws Exception {
        TrainingLoop.Result whole = TrainingLoopTest.assertResumeIsExact(out -> Configs.override(ScoreModelConfig.quick("reward"),
                List.of("model_name_or_path=" + base, "train_datasets=BeaverWorld/train:16/-1", "eval_datasets=",
                        "eval_strategy=no", "epochs=2", "per_device_train_batch_size=4", "gradient_accumulation_steps=2",
                        "lora_rank=2", "output_dir=" + out)), ScoreTrainer::new, dir, 3);
        Map<String, HostTensor> saved = ModelFiles.readWeights(whole.modelFolder());
        assertTrue(saved.containsKey("base_model.model.score_head.weight") && saved.containsKey("base_model.model.score_head.bias"));
        assertTrue(saved.containsKey("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"), "PEFT's default targets");
        assertFalse(saved.containsKey("base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight"));
        assertNotEquals(0f, saved.get("base_model.model.score_head.bias").data()[0], "the head trained (its bias starts at 0)");
        try (ScoreModel rm = ModelFiles.loadScoreModel(whole.modelFolder(), Device.cpu())) {
            assertEquals(saferlhf.model.ScoreType.REWARD, rm.scoreType());
            assertArrayEquals(saved.get("base_model.model.score_head.weight").data(), rm.head().get("score_head.weight").toFloatArray());
        }
    }

    @Test
    void dpoWithAdaptersStartsAtLog2BecauseItsReferenceIsThePolicyWithAdaptersOff(@TempDir Path dir) throws Exception {
        DpoConfig config = Configs.override(DpoConfig.quick(), List.of("model_name_or_path=" + base,
                "train_datasets=BeaverWorld/train:16/-1", "eval_datasets=BeaverWorld/train:16/-1", "epochs=2",
                "per_device_train_batch_size=8", "per_device_eval_batch_size=16", "lr=1e-2", "lora_rank=8",
                "lora_target_modules=q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", "output_dir=" + dir));
        try (DpoTrainer trainer = new DpoTrainer(config)) {
            Map<String, Double> before = trainer.evaluate();
            assertEquals(Math.log(2), before.get("eval/loss"), 1e-6, "-logsigmoid(0) while the adapters are zero");
            TrainingLoop.Result result = TrainingLoop.run(config, trainer);
            Map<String, Double> after = result.lastEval();
            System.out.println("DPO with LoRA (rank 8, 4 steps) on its training pairs: " + after);
            assertTrue(after.get("eval/reward_margin") > 0.05, "the margin widened: " + after);
            assertTrue(after.get("eval/loss") < Math.log(2), "the loss fell: " + after);
            assertTrue(PeftFiles.isAdapterFolder(result.modelFolder()));
        }
    }

    @Test
    void adaptersOnAPresetOrWithBadKeysAreRefused(@TempDir Path dir) {
        IllegalArgumentException preset = assertThrows(IllegalArgumentException.class,
                () -> new SftTrainer(sft(dir, "model_name_or_path=preset:tiny-llama")));
        assertTrue(preset.getMessage().contains("preset"), preset.getMessage());
        Configs.ConfigException rank = assertThrows(Configs.ConfigException.class, () -> sft(dir, "lora_rank=-1"));
        assertTrue(rank.getMessage().contains("lora_rank must be >= 0"), rank.getMessage());
        Configs.ConfigException dropout = assertThrows(Configs.ConfigException.class, () -> sft(dir, "lora_dropout=1"));
        assertTrue(dropout.getMessage().contains("lora_dropout must be in [0, 1)"), dropout.getMessage());
        IllegalArgumentException target = assertThrows(IllegalArgumentException.class,
                () -> new SftTrainer(sft(dir, "lora_target_modules=c_attn")));
        assertTrue(target.getMessage().contains("'c_attn'") && target.getMessage().contains("q_proj"), target.getMessage());
    }

    private static float maxDiff(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
