package saferlhf.cli;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.KitPaths;
import saferlhf.Offline;
import saferlhf.model.CausalLM;
import saferlhf.model.Lora;
import saferlhf.model.LoraTesting;
import saferlhf.model.LoraConfig;
import saferlhf.model.ModelConfig;
import saferlhf.model.ModelFiles;
import saferlhf.model.ScoreModel;
import saferlhf.model.ScoreType;
import saferlhf.model.Tokenizer;

/**
 * LoRA adapter folders load wherever a model folder does (docs/lora.md), the {@code eval} commands included: a policy,
 * the arena's and the side-by-side judgement's corners, and reward and cost models, each given as an adapter folder on a
 * tiny base. A score model's adapter folder scores exactly as the folder {@code lora merge} writes from it.
 */
class EvalAdapterFoldersTest {
    @TempDir
    static Path dir;
    private static Path base, policy, rm, cm;

    private static final List<String> LLAMA_ALL = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    @BeforeAll
    static void tinyBaseAndAdapterFolders() throws IOException {
        Offline.apply();
        base = dir.resolve("base");
        policy = dir.resolve("policy-lora");
        rm = dir.resolve("rm-lora");
        cm = dir.resolve("cm-lora");
        try (Tokenizer tokenizer = Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
             CausalLM lm = CausalLM.create(ModelConfig.tinyLlama(tokenizer.vocabSize()), Device.cpu(), 1)) {
            ModelFiles.save(lm, tokenizer, base);
            for (ScoreType type : List.of(ScoreType.REWARD, ScoreType.COST)) {
                try (ScoreModel model = ScoreModel.fromCausalLM(lm, type, 2)) {
                    LoraTesting.randomizeB(model.attachLora(new LoraConfig(2, 4, 0, List.of("q_proj", "v_proj")), base.toString(), 3), 4);
                    ModelFiles.save(model, tokenizer, type == ScoreType.REWARD ? rm : cm);
                }
            }
            LoraTesting.randomizeB(lm.attachLora(new LoraConfig(4, 8, 0, LLAMA_ALL), base.toString(), 5), 6);
            ModelFiles.save(lm, tokenizer, policy);
        }
        for (Path adapter : List.of(policy, rm, cm)) {
            assertTrue(Files.isRegularFile(adapter.resolve("adapter_config.json")) && !Files.exists(adapter.resolve("config.json")));
        }
    }

    @Test
    void evalPolicyAcceptsAnAdapterFolderWithOrWithoutItsOwnTokenizer() throws IOException {
        CliErrorsTest.ok("eval", "policy", "--model", policy.toString(), "--data", "BeaverWorld-Eval/harmful:3/-1", "--max-new-tokens", "4",
                "--device", "cpu");
        // as PEFT saves it: adapter_config.json and adapter_model.safetensors only; the base's tokenizer is used
        Path peft = Files.createDirectories(dir.resolve("policy-peft"));
        for (String file : List.of("adapter_config.json", "adapter_model.safetensors")) Files.copy(policy.resolve(file), peft.resolve(file));
        CliErrorsTest.ok("eval", "policy", "--model", peft.toString(), "--data", "BeaverWorld-Eval/harmful:3/-1", "--max-new-tokens", "4",
                "--device", "cpu");
    }

    @Test
    void evalRmAndCmScoreAnAdapterFolderAsTheMergedFolder() throws IOException {
        for (Path adapter : List.of(rm, cm)) {
            String kind = adapter == rm ? "rm" : "cm";
            Path merged = dir.resolve(kind + "-merged");
            CliErrorsTest.ok("lora", "merge", "--adapter", adapter.toString(), "--out", merged.toString());
            Path fromAdapter = dir.resolve("eval-" + kind + "-adapter"), fromMerged = dir.resolve("eval-" + kind + "-merged");
            CliErrorsTest.ok("eval", kind, "--model", adapter.toString(), "--data", "BeaverWorld/test:6/-1", "--max-length", "64",
                    "--device", "cpu", "--out", fromAdapter.toString());
            CliErrorsTest.ok("eval", kind, "--model", merged.toString(), "--data", "BeaverWorld/test:6/-1", "--max-length", "64",
                    "--device", "cpu", "--out", fromMerged.toString());
            String scores = Files.readString(fromAdapter.resolve("scores.tsv"));
            assertEquals(13, scores.lines().count(), "a header and 2 scores for each of 6 pairs");
            assertEquals(Files.readString(fromMerged.resolve("scores.tsv")), scores, kind + ": adapter folder vs merged folder");
        }
        // the wrong kind of score model is still refused
        assertEquals(2, CliErrorsTest.run("eval", "cm", "--model", rm.toString(), "--data", "BeaverWorld/test:2/-1",
                "--device", "cpu", "--out", dir.resolve("eval-wrong").toString()).code());
    }

    @Test
    void evalArenaAndPairwiseAcceptAdapterFoldersForCornersAndScoreModels() {
        Path arena = dir.resolve("arena"), pairwise = dir.resolve("pairwise");
        CliErrorsTest.ok("eval", "arena", "--red", base.toString(), "--blue", policy.toString(), "--reward-model", rm.toString(),
                "--cost-model", cm.toString(), "--data", "BeaverWorld-Eval/harmful:3/-1", "--max-new-tokens", "4",
                "--device", "cpu", "--out", arena.toString());
        assertTrue(Files.isRegularFile(arena.resolve("table.csv")));
        CliErrorsTest.ok("eval", "pairwise", "--red", policy.toString(), "--blue", base.toString(), "--data", "BeaverWorld-Eval/harmful:3/-1",
                "--max-new-tokens", "4", "--device", "cpu", "--out", pairwise.toString());
        assertTrue(Files.isRegularFile(pairwise.resolve("eval.json")));
    }

    @Test
    void aTrainingStageGivenAPeftFolderWithoutTokenizerUsesItsBasesTokenizer() throws IOException {
        Path bpeBase = dir.resolve("bpe-base"), peft = dir.resolve("bpe-peft");
        saferlhf.model.TokenizerFiles.write(bpeBase, saferlhf.model.TokenizerFiles.byteLevelBpe(saferlhf.model.TokenizerFiles.beaverWorldWords()),
                saferlhf.model.TokenizerFiles.GPT2_CONFIG);
        try (Tokenizer tokenizer = Tokenizer.load(bpeBase);
             CausalLM lm = CausalLM.create(ModelConfig.tinyGpt2(tokenizer.vocabSize()), Device.cpu(), 7)) {
            ModelFiles.save(lm, tokenizer, bpeBase);
            lm.attachLora(new LoraConfig(2, 4, 0, List.of("c_attn")), bpeBase.toString(), 1);
            ModelFiles.save(lm, null, peft); // no tokenizer files, as PEFT saves an adapter folder
        }
        assertFalse(Files.exists(peft.resolve("tokenizer.json")));
        try (Tokenizer base = Tokenizer.load(bpeBase); Tokenizer stage = saferlhf.train.Models.tokenizer(null, peft.toString())) {
            assertTrue(stage.sameAs(base), "the base's tokenizer, not BeaverWorld's");
        }
    }

    @Test
    void aFolderThatIsNeitherIsStillRefusedNamingIt() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("neither"));
        CliErrorsTest.Result r = CliErrorsTest.run("eval", "policy", "--model", empty.toString(), "--data",
                "BeaverWorld-Eval/harmful:2/-1", "--device", "cpu");
        CliErrorsTest.assertOneLine(r, empty.toString(), "eval", "policy");
        assertTrue(r.err().contains("config.json") && r.err().contains("adapter_config.json"), r.err());
    }
}
