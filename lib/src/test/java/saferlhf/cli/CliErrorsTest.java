package saferlhf.cli;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import saferlhf.KitPaths;
import saferlhf.Offline;
import saferlhf.model.CausalLM;
import saferlhf.model.ModelConfig;
import saferlhf.model.ModelFiles;
import saferlhf.model.ScoreModel;
import saferlhf.model.ScoreType;
import saferlhf.model.Tokenizer;
import saferlhf.pipeline.Reproduction;
import saferlhf.util.InputError;

/**
 * Bad input through the real command line ({@link Main#commandLine}): every command answers with exit code 2 and one
 * line, {@code error: FILE: what is wrong}, naming the file, without a stack trace; {@code --verbose} adds the trace.
 */
class CliErrorsTest {
    @TempDir
    static Path dir;
    private static Path lm, rm, otherTokenizer, rmOtherTokenizer;

    @BeforeAll
    static void goodFolders() throws IOException {
        Offline.apply();
        // another tokenizer: BeaverWorld's vocabulary with one more word (so more ids than lm's embedding holds)
        otherTokenizer = Files.createDirectories(dir.resolve("other-tokenizer"));
        String json = Files.readString(KitPaths.beaverWorld().resolve("tokenizer.json"));
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        var root = (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(json);
        var vocab = (com.fasterxml.jackson.databind.node.ObjectNode) root.path("model").path("vocab");
        int next = 0;
        for (var id : (Iterable<com.fasterxml.jackson.databind.JsonNode>) vocab::elements) next = Math.max(next, id.asInt() + 1);
        for (var added : root.path("added_tokens")) next = Math.max(next, added.path("id").asInt() + 1);
        vocab.put("zebra", next);
        Files.writeString(otherTokenizer.resolve("tokenizer.json"), mapper.writeValueAsString(root));
        try (Tokenizer tokenizer = Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
             Tokenizer other = Tokenizer.load(otherTokenizer);
             CausalLM actor = CausalLM.create(ModelConfig.tinyLlama(tokenizer.vocabSize()), Device.cpu(), 1);
             ScoreModel reward = ScoreModel.create(ModelConfig.tinyLlama(tokenizer.vocabSize()), ScoreType.REWARD, Device.cpu(), 2);
             ScoreModel otherReward = ScoreModel.create(ModelConfig.tinyLlama(other.vocabSize()), ScoreType.REWARD, Device.cpu(), 3)) {
            assertTrue(other.vocabSize() > tokenizer.vocabSize());
            lm = dir.resolve("lm");
            rm = dir.resolve("rm");
            rmOtherTokenizer = dir.resolve("rm-other-tokenizer");
            ModelFiles.save(actor, tokenizer, lm);
            ModelFiles.save(reward, tokenizer, rm);
            ModelFiles.save(otherReward, other, rmOtherTokenizer);
        }
    }

    record Result(int code, String out, String err) {
        List<String> errLines() { return err.lines().filter(line -> !line.isBlank()).toList(); }
    }

    /** Runs the command line in-process and requires exit code 0 (the output and errors in the message otherwise). */
    static Result ok(String... args) {
        Result r = run(args);
        assertEquals(0, r.code(), String.join(" ", args) + "\n" + r.err());
        return r;
    }

    /**
     * Runs the command line in-process. A command that fails must not leave models behind: the arrays open in every
     * NDManager (all are children of the engine's system manager) are the same before and after it.
     */
    static Result run(String... args) {
        CommandLine cli = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int arraysBefore = openArrays();
        int code = cli.execute(args);
        if (code != 0) {
            assertEquals(arraysBefore, openArrays(), "arrays left open by a failed command: " + String.join(" ", args) + "\n" + err);
        }
        return new Result(code, out.toString(), err.toString());
    }

    /** Arrays open in any NDManager of the engine (every base manager is a child of its system manager). */
    static int openArrays() {
        try (NDManager probe = NDManager.newBaseManager()) {
            return probe.getParentManager().getManagedArrays().size();
        }
    }

    /** Exit code 2, exactly one line {@code error: ...} that names {@code file}, no stack trace. */
    static void assertOneLine(Result r, String file, String... command) {
        String what = String.join(" ", command) + "\n" + r.err;
        assertEquals(2, r.code(), what);
        assertEquals(1, r.errLines().size(), what);
        assertTrue(r.errLines().get(0).startsWith("error: "), what);
        assertTrue(r.errLines().get(0).contains(file), "'" + file + "' not named: " + what);
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), what);
    }

    /** The ways a model folder is broken, and the file the error must name. */
    enum Break { TRUNCATED_WEIGHTS, NO_HIDDEN_SIZE, CONFIG_NOT_JSON, NO_CONFIG, BROKEN_TOKENIZER, MISSING }

    /** A copy of {@code good} broken in one way, and the path its error must name. */
    static Path[] broken(Path good, Break how) throws IOException {
        Path bad = dir.resolve(good.getFileName() + "-" + how.name().toLowerCase());
        if (how == Break.MISSING) return new Path[] {bad, bad};
        Files.createDirectories(bad);
        try (var files = Files.list(good)) {
            for (Path f : files.toList()) Files.copy(f, bad.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        Path config = bad.resolve("config.json");
        return switch (how) {
            case TRUNCATED_WEIGHTS -> {
                Path weights = bad.resolve("model.safetensors");
                byte[] bytes = Files.readAllBytes(weights);
                Files.write(weights, java.util.Arrays.copyOf(bytes, bytes.length / 2));
                yield new Path[] {bad, weights};
            }
            case NO_HIDDEN_SIZE -> {
                Files.writeString(config, Files.readString(config).replaceAll("\"hidden_size\" : \\d+,", ""));
                assertFalse(Files.readString(config).contains("hidden_size"));
                yield new Path[] {bad, config};
            }
            case CONFIG_NOT_JSON -> {
                Files.writeString(config, "{\"model_type\": \"llama\",\n");
                yield new Path[] {bad, config};
            }
            case NO_CONFIG -> {
                Files.delete(config);
                yield new Path[] {bad, bad};
            }
            case BROKEN_TOKENIZER -> {
                Path tokenizer = bad.resolve("tokenizer.json");
                Files.writeString(tokenizer, Files.readString(tokenizer).substring(0, 300));
                yield new Path[] {bad, tokenizer};
            }
            case MISSING -> throw new AssertionError();
        };
    }

    @Test
    void brokenModelFoldersGetOneLineNamingTheFileFromEveryCommand() throws IOException {
        String out = "output_dir=" + dir.resolve("runs");
        for (Break how : Break.values()) {
            Path[] lmBad = broken(lm, how), rmBad = broken(rm, how);
            String lmFile = lmBad[1].toString(), rmFile = rmBad[1].toString();
            List<String[]> commands = new ArrayList<>(List.of(
                    new String[] {"sft", "--preset", "quick", "model_name_or_path=" + lmBad[0], "train_datasets=BeaverWorld-SFT/train:8/-1", "eval_datasets=", out},
                    new String[] {"rm", "--preset", "quick", "model_name_or_path=" + lmBad[0], "train_datasets=BeaverWorld/train:8/-1", "eval_datasets=", out},
                    new String[] {"cm", "--preset", "quick", "model_name_or_path=" + lmBad[0], "train_datasets=BeaverWorld/train:8/-1", "eval_datasets=", out},
                    new String[] {"dpo", "--preset", "quick", "model_name_or_path=" + lmBad[0], "train_datasets=BeaverWorld/train:8/-1", "eval_datasets=", out},
                    new String[] {"ppo-lag", "--preset", "quick", "actor_model_name_or_path=" + lmBad[0], "reward_model_name_or_path=" + rm,
                            "cost_model_name_or_path=" + rm, out},
                    new String[] {"eval", "policy", "--model", lmBad[0].toString(), "--data", "BeaverWorld-Eval/benign:2/-1"},
                    new String[] {"eval", "rm", "--model", rmBad[0].toString(), "--data", "BeaverWorld/test:2/-1"}));
            // a reward model scores with its own tokenizer, so its broken tokenizer.json is named too
            commands.add(new String[] {"ppo", "--preset", "quick", "actor_model_name_or_path=" + lm, "reward_model_name_or_path=" + rmBad[0], out});
            for (String[] command : commands) {
                boolean scoreFolder = String.join(" ", command).contains(rmBad[0].toString());
                assertOneLine(run(command), scoreFolder ? rmFile : lmFile, command);
            }
        }
    }

    @Test
    void theStackTraceOnlyWithVerbose() throws IOException {
        Path[] bad = broken(lm, Break.TRUNCATED_WEIGHTS);
        String[] sft = {"sft", "--preset", "quick", "model_name_or_path=" + bad[0], "output_dir=" + dir.resolve("runs")};
        assertOneLine(run(sft), bad[1].toString(), sft);
        for (Result verbose : List.of(run(concat(new String[] {"--verbose"}, sft)), run(concat(sft, new String[] {"--verbose"})))) {
            assertEquals(2, verbose.code(), verbose.err());
            assertTrue(verbose.err().contains("\tat saferlhf."), verbose.err());
            List<String> lines = verbose.errLines();
            assertTrue(lines.get(lines.size() - 1).startsWith("error: " + bad[1]), verbose.err());
        }
    }

    @Test
    void badDataGetsOneLineNamingTheFile() throws IOException {
        Path empty = Files.createFile(dir.resolve("empty.jsonl"));
        Path absent = dir.resolve("absent/train.jsonl");
        String out = "output_dir=" + dir.resolve("data-runs");
        String[][] emptyData = {
                {"sft", "--preset", "quick", "model_name_or_path=" + lm, "train_datasets=" + empty, "eval_datasets=", out},
                {"rm", "--preset", "quick", "model_name_or_path=" + lm, "train_datasets=" + empty, "eval_datasets=", out},
                {"dpo", "--preset", "quick", "model_name_or_path=" + lm, "train_datasets=" + empty, "eval_datasets=", out},
                {"ppo-lag", "--preset", "quick", "actor_model_name_or_path=" + lm, "reward_model_name_or_path=" + rm,
                        "cost_model_name_or_path=" + rm, "train_datasets=" + empty, out}};
        for (String[] command : emptyData) assertOneLine(run(command), empty.toString(), command);
        String[][] absentData = {
                {"sft", "--preset", "quick", "model_name_or_path=" + lm, "train_datasets=" + absent, "eval_datasets=", out},
                {"rm", "--preset", "quick", "model_name_or_path=" + lm, "train_datasets=BeaverWorld/train:8/-1", "eval_datasets=" + absent, out},
                {"eval", "rm", "--model", rm.toString(), "--data", absent.toString()},
                {"eval", "policy", "--model", lm.toString(), "--data", absent.toString()}};
        for (String[] command : absentData) assertOneLine(run(command), absent.toString(), command);
        // SFT records where preference pairs are expected
        String[] wrongKind = {"rm", "--preset", "quick", "model_name_or_path=" + lm, "train_datasets=BeaverWorld-SFT/train:4/-1", out};
        assertOneLine(run(wrongKind), "BeaverWorld-SFT/train:4/-1", wrongKind);
    }

    @Test
    void evalBudgetsAreCheckedAndLongPromptsAreCutFromTheirStart() {
        String[] noRoom = {"eval", "policy", "--model", lm.toString(), "--data", "BeaverWorld-Eval/harmful:2/-1", "--max-length", "12",
                "--max-new-tokens", "12"};
        assertOneLine(run(noRoom), "leaves no room in 12 tokens", noRoom);
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        java.io.PrintStream stdout = System.out;
        System.setOut(new java.io.PrintStream(captured, true));
        try {
            ok("eval", "policy", "--model", lm.toString(), "--data", "BeaverWorld-Eval/harmful:2/-1", "--max-length", "100000",
                    "--max-prompt-tokens", "6", "--max-new-tokens", "3", "--device", "cpu");
            ok("eval", "pairwise", "--red", lm.toString(), "--blue", lm.toString(), "--data", "BeaverWorld-Eval/harmful:2/-1",
                    "--max-prompt-tokens", "6", "--max-new-tokens", "3", "--device", "cpu", "--out", dir.resolve("pairwise-cut").toString());
        } finally {
            System.setOut(stdout);
        }
        String text = captured.toString();
        assertTrue(text.contains("--max-length 100000 is cut to the model's context"), text);
        assertTrue(text.contains("2 of 2 prompts are longer than 6 tokens: their oldest tokens are dropped, keeping the assistant turn"), text);
        // side by side, each corner's prompts are counted with its own tokenizer
        for (String corner : new String[] {"red", "blue"}) {
            assertTrue(text.contains("2 of 2 prompts are longer than 6 tokens with the " + corner + " corner's tokenizer"), text);
        }
        assertTrue(text.contains("sampled, top_k 50, seed 42"), text);
    }

    @Test
    void badPresetsKeysValuesAndOptionsGetOneLine() throws IOException {
        for (String[] command : new String[][] {{"sft", "--preset", "quik"}, {"ppo-lag", "--preset", "quik"}, {"rounds", "--preset", "quik"},
                {"reproduce", "--preset", "quik"}}) {
            assertOneLine(run(command), "unknown preset 'quik' (quick, full", command); // paper too for single stages
        }
        String[] unknownKey = {"rm", "--preset", "quick", "lrr=1e-3"};
        assertOneLine(run(unknownKey), "unknown key 'lrr'", unknownKey);
        String[] badValue = {"cm", "--preset", "quick", "lr=fast"};
        assertOneLine(run(badValue), "key 'lr': cannot read 'fast'", badValue);
        String[] invalid = {"sft", "--preset", "quick", "per_device_train_batch_size=0"};
        assertOneLine(run(invalid), "per_device_train_batch_size", invalid);
        String[] device = {"sft", "--preset", "quick", "device=tpu", "train_datasets=BeaverWorld-SFT/train:8/-1", "output_dir=" + dir.resolve("d")};
        assertOneLine(run(device), "unknown device 'tpu'", device);
        String[] modelPreset = {"sft", "--preset", "quick", "model_name_or_path=preset:tiny-lama", "output_dir=" + dir.resolve("d")};
        assertOneLine(run(modelPreset), "unknown model preset 'preset:tiny-lama'", modelPreset);
        String[] unknownOption = {"sft", "--presets", "quick"};
        assertOneLine(run(unknownOption), "--presets", unknownOption);

        Path notJson = Files.writeString(dir.resolve("bad-config.json"), "{\"lr\": 1e-3,");
        String[] config = {"sft", "--config", notJson.toString()};
        assertOneLine(run(config), notJson.toString(), config);
        String[] noConfig = {"sft", "--config", dir.resolve("no-config.json").toString()};
        assertOneLine(run(noConfig), dir.resolve("no-config.json").toString(), noConfig);
    }

    @Test
    void aReproductionStageThatFailsInItsOwnJvmGivesItsErrorLineAndExitCode() throws IOException {
        Path absent = dir.resolve("absent-sft.jsonl");
        String[] failing = {"reproduce", "--preset", "quick", "--out", dir.resolve("repro").toString(), "--jobs", "2",
                "--set", "sft.train_datasets=" + absent};
        Result r = run(failing);
        assertOneLine(r, absent.toString(), failing);
        assertTrue(r.err().contains("stage sft failed") && r.err().contains(dir.resolve("repro/logs/sft.log").toString()), r.err());
        String[] badKind = {"reproduce", "--preset", "quick", "--set", "ppo.kl_coeff=0.1"};
        assertOneLine(run(badKind), "unknown kind 'ppo' (sft, rm, cm, dpo, rl, rounds)", badKind);
        String[] badKey = {"reproduce", "--preset", "quick", "--out", dir.resolve("repro2").toString(), "--set", "rl.kl=0.1"};
        assertOneLine(run(badKey), "unknown key 'kl'", badKey);
    }

    @Test
    void aBugKeepsItsStackTraceAndSaysWhatHappened() {
        CommandLine cli = Main.commandLine();
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err));
        CommandLine.ParseResult parsed = cli.parseArgs("seeds", "x");
        int code = new Errors().handleExecutionException(new NullPointerException("oops"), cli, parsed);
        assertEquals(1, code);
        assertTrue(err.toString().contains("\tat saferlhf."), err.toString());
        List<String> lines = err.toString().lines().toList();
        assertEquals("error: internal error (a bug in saferlhf; please report it with the trace above): "
                + "java.lang.NullPointerException: oops", lines.get(lines.size() - 1));
    }

    /** A copy of {@code good} without its tokenizer files (as a Hugging Face folder holding only {@code tokenizer.model}). */
    static Path withoutTokenizer(Path good) throws IOException {
        Path bad = Files.createDirectories(dir.resolve(good.getFileName() + "-no-tokenizer"));
        try (var files = Files.list(good)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().startsWith("tokenizer")) Files.copy(f, bad.resolve(f.getFileName()));
            }
        }
        Files.writeString(bad.resolve("tokenizer.model"), "a SentencePiece model the kit cannot read");
        return bad;
    }

    /** Short runs: a few records, one epoch, no evaluation (a command that wrongly starts training ends soon). */
    private static final String[] SHORT_SFT = {"train_datasets=BeaverWorld-SFT/train:4/-1", "eval_datasets=", "epochs=1"};
    private static final String[] SHORT_PAIRS = {"train_datasets=BeaverWorld/train:4/-1", "eval_datasets=", "epochs=1"};
    private static final String[] SHORT_RL = {"train_datasets=BeaverWorld-RL/train:2/-1", "eval_datasets=", "epochs=1",
            "per_device_prompt_batch_size=2", "per_device_train_batch_size=2", "max_length=32"};

    private static int runs;

    /** A fresh output folder for each command, so that no command resumes or refuses another's run. */
    private static String out() {
        return "output_dir=" + dir.resolve("run-" + runs++);
    }

    @Test
    void userMistakesAreInputErrorsNotInternalErrors() {
        // LoRA target modules that match no module of the model, for each stage that takes adapters: the key is named
        String[] lora = {"lora_rank=4", "lora_target_modules=foo"};
        String[] actorLora = {"actor_lora_rank=4", "actor_lora_target_modules=foo"}, criticLora = {"critic_lora_rank=4", "critic_lora_target_modules=foo"};
        String[] ppo = {"ppo", "--preset", "quick", "actor_model_name_or_path=" + lm, "reward_model_name_or_path=" + rm};
        Map<String[], String> targets = new java.util.LinkedHashMap<>();
        targets.put(concat(concat(new String[] {"sft", "--preset", "quick", "model_name_or_path=" + lm, out()}, SHORT_SFT), lora), "lora_target_modules");
        targets.put(concat(concat(new String[] {"rm", "--preset", "quick", "model_name_or_path=" + lm, out()}, SHORT_PAIRS), lora), "lora_target_modules");
        targets.put(concat(concat(new String[] {"dpo", "--preset", "quick", "model_name_or_path=" + lm, out()}, SHORT_PAIRS), lora), "lora_target_modules");
        targets.put(concat(concat(concat(ppo, new String[] {out()}), SHORT_RL), actorLora), "actor_lora_target_modules");
        targets.put(concat(concat(concat(ppo, new String[] {out()}), SHORT_RL), criticLora), "critic_lora_target_modules");
        targets.forEach((command, key) -> {
            Result r = run(command);
            assertOneLine(r, "'foo'", command);
            assertTrue(r.errLines().get(0).contains(key), key + ": " + r.err());
        });
        // with LoRA, a tokenizer with more ids than the base model's embedding (adapters cannot grow it)
        String[] vocab = concat(new String[] {"sft", "--preset", "quick", "model_name_or_path=" + lm, "tokenizer=" + otherTokenizer,
                "lora_rank=4", out()}, SHORT_SFT);
        assertOneLine(run(vocab), lm.toString(), vocab);
        // a critic (by default the reward model's copy) whose tokenizer is not the actor's: refused naming the key
        String[] critic = concat(new String[] {"ppo", "--preset", "quick", "actor_model_name_or_path=" + lm,
                "reward_model_name_or_path=" + rmOtherTokenizer, out()}, SHORT_RL);
        assertOneLine(run(critic), "reward_critic_model_name_or_path", critic);
        // a critic of its own with another tokenizer
        String[] ownCritic = concat(new String[] {"ppo-lag", "--preset", "quick", "actor_model_name_or_path=" + lm,
                "reward_model_name_or_path=" + rm, "cost_model_name_or_path=" + rm, "cost_critic_model_name_or_path=" + rmOtherTokenizer, out()},
                SHORT_RL);
        assertOneLine(run(ownCritic), "cost_critic_model_name_or_path", ownCritic);
        String[] rounds = {"rounds", "--preset", "quick", "--rounds", "0", "--out", dir.resolve("rounds").toString()};
        assertOneLine(run(rounds), "--rounds", rounds);
    }

    @Test
    void aModelFolderMustBringItsTokenizer() throws IOException {
        Path rmNoTokenizer = withoutTokenizer(rm), lmNoTokenizer = withoutTokenizer(lm);
        // a reward or cost model scores with the tokenizer it was trained with: never BeaverWorld's in its place
        String[] reward = concat(new String[] {"ppo", "--preset", "quick", "actor_model_name_or_path=" + lm,
                "reward_model_name_or_path=" + rmNoTokenizer, out()}, SHORT_RL);
        Result r = run(reward);
        assertOneLine(r, rmNoTokenizer.toString(), reward);
        assertTrue(r.errLines().get(0).contains("reward_model_name_or_path"), r.err());
        String[] cost = concat(new String[] {"ppo-lag", "--preset", "quick", "actor_model_name_or_path=" + lm,
                "reward_model_name_or_path=" + rm, "cost_model_name_or_path=" + rmNoTokenizer, out()}, SHORT_RL);
        r = run(cost);
        assertOneLine(r, rmNoTokenizer.toString(), cost);
        assertTrue(r.errLines().get(0).contains("cost_model_name_or_path"), r.err());
        // a model folder (not a preset) without tokenizer.json, for every stage
        String[][] stages = {
                concat(new String[] {"sft", "--preset", "quick", "model_name_or_path=" + lmNoTokenizer, out()}, SHORT_SFT),
                concat(new String[] {"rm", "--preset", "quick", "model_name_or_path=" + lmNoTokenizer, out()}, SHORT_PAIRS),
                concat(new String[] {"dpo", "--preset", "quick", "model_name_or_path=" + lmNoTokenizer, out()}, SHORT_PAIRS),
                concat(new String[] {"ppo", "--preset", "quick", "actor_model_name_or_path=" + lmNoTokenizer,
                        "reward_model_name_or_path=" + rm, out()}, SHORT_RL)};
        for (String[] command : stages) assertOneLine(run(command), lmNoTokenizer.toString(), command);
    }

    @Test
    void aFailedTrainerConstructorClosesTheModelsItLoaded() throws IOException {
        // a cost model whose config.json promises a layer more than its weights hold: its files pass every check made
        // before loading, so the actor, the reference policy and the reward model are loaded when its weights fail
        Path moreLayers = dir.resolve("rm-more-layers");
        Files.createDirectories(moreLayers);
        try (var files = Files.list(rm)) {
            for (Path f : files.toList()) Files.copy(f, moreLayers.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        Path config = moreLayers.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"num_hidden_layers\" : 4", "\"num_hidden_layers\" : 5"));
        assertTrue(Files.readString(config).contains("\"num_hidden_layers\" : 5"));
        String[] command = concat(new String[] {"ppo-lag", "--preset", "quick", "actor_model_name_or_path=" + lm,
                "reward_model_name_or_path=" + rm, "cost_model_name_or_path=" + moreLayers, "output_dir=" + dir.resolve("leak")}, SHORT_RL);
        Result r = run(command); // run() checks that no array stays open
        assertOneLine(r, moreLayers.toString(), command);
        assertTrue(r.errLines().get(0).contains("layers.4"), r.err()); // the missing layer's tensors: the load failed
    }

    @Test
    void internalFailuresWrappingAnIoExceptionAreBugs() {
        CommandLine cli = Main.commandLine();
        CommandLine.ParseResult parsed = cli.parseArgs("seeds", "x");
        // a child JVM that cannot start (bench), and the kit's own JSON (de)serialisation failing
        List<Exception> bugs = List.of(
                new IllegalStateException("cannot start a child JVM (bench models): oops", new IOException("Cannot run program \"java\"")),
                new com.fasterxml.jackson.databind.JsonMappingException(null, "cannot serialise"),
                new java.io.UncheckedIOException(new com.fasterxml.jackson.core.JsonGenerationException("bad generator", (com.fasterxml.jackson.core.JsonGenerator) null)));
        for (Exception bug : bugs) {
            StringWriter err = new StringWriter();
            cli.setErr(new PrintWriter(err));
            assertEquals(1, new Errors().handleExecutionException(bug, cli, parsed), err.toString());
            assertTrue(err.toString().contains("error: internal error"), err.toString());
        }
        // I/O on a file the command was given stays an input error, with the file and the reason
        List<Exception> inputs = List.of(
                new java.nio.file.NoSuchFileException("/data/x.jsonl"),
                new java.io.UncheckedIOException("cannot open /data/x.jsonl", new java.nio.file.AccessDeniedException("/data/x.jsonl")),
                new IOException("/models/a/model.safetensors: truncated"));
        for (Exception input : inputs) {
            StringWriter err = new StringWriter();
            cli.setErr(new PrintWriter(err));
            assertEquals(2, new Errors().handleExecutionException(input, cli, parsed), err.toString());
            assertTrue(err.toString().startsWith("error: /") || err.toString().startsWith("error: cannot open /"), err.toString());
            assertFalse(err.toString().contains("\tat "), err.toString());
        }
    }

    @Test
    void aTokenizersLibraryThatCannotLoadIsNotBlamedOnTheTokenizerFile() throws Exception {
        // a fresh JVM whose Rust tokenizers library cannot load: RUST_LIBRARY_PATH names a file that is not there
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "-DRUST_LIBRARY_PATH=" + dir.resolve("no-such-dir/libtokenizers.so"), "-Dsaferlhf.projectRoot=" + KitPaths.projectRoot(),
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), "saferlhf.cli.Main",
                "eval", "rm", "--model", rm.toString(), "--data", "BeaverWorld/test:2/-1"));
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS), err);
        List<String> lines = err.lines().filter(line -> line.startsWith("error: ")).toList();
        assertEquals(1, p.exitValue(), err);                        // not exit 2: the file is not at fault
        assertEquals(1, lines.size(), err);
        assertFalse(lines.get(0).contains("not a tokenizer"), err);
        assertTrue(lines.get(0).contains("native library"), err);
    }

    @Test
    void loraMergeAnswersThroughTheSharedHandler() {
        Path missing = dir.resolve("no-adapter");
        String[] merge = {"lora", "merge", "--adapter", missing.toString(), "--out", dir.resolve("merged").toString()};
        assertOneLine(run(merge), missing.toString(), merge);
        Result verbose = run(concat(new String[] {"--verbose"}, merge));
        assertEquals(2, verbose.code(), verbose.err());
        assertTrue(verbose.err().contains("\tat saferlhf."), verbose.err());
    }

    @Test
    void aBadCostLabelNamesItsFileAndLine() throws IOException {
        String good = "{\"prompt\": \"How do I bake bread?\", \"response_0\": \"Knead the dough.\", \"response_1\": \"I cannot help.\", "
                + "\"is_response_0_safe\": true, \"is_response_1_safe\": true, \"better_response_id\": 0, \"safer_response_id\": 1}";
        String bad = "{\"prompt\": \"How do I bake bread?\", \"response_0\": \"Knead the dough.\", \"response_1\": \"I cannot help.\", "
                + "\"is_response_0_safe\": false, \"is_response_1_safe\": true, \"better_response_id\": 0, \"safer_response_id\": 0}";
        Path data = Files.writeString(dir.resolve("labels.jsonl"), good + "\n" + good + "\n" + good + "\n" + bad + "\n" + good + "\n");
        // mixed with another set, so the pair's position in the mixture is not its line
        String[] cm = {"cm", "--preset", "quick", "model_name_or_path=" + lm, "train_datasets=BeaverWorld/train:3/-1," + data,
                "eval_datasets=", "epochs=1", "output_dir=" + dir.resolve("labels")};
        Result r = run(cm);
        assertOneLine(r, data + ":4: field 'safer_response_id'", cm);
    }

    @Test
    void pipelinesRefuseThePaperPresetBeforeAnythingRuns() {
        InputError e = assertThrows(InputError.class, () -> new Reproduction("paper", dir.resolve("repro").toString(), 1));
        assertTrue(e.getMessage().contains("quick or full"), e.getMessage());
        assertThrows(InputError.class, () -> new Reproduction("quik", dir.resolve("repro").toString(), 1));
        assertThrows(InputError.class, () -> saferlhf.rl.Rounds.run("paper", saferlhf.rl.Rounds.Settings.of("quick").withRounds(2), dir.resolve("rounds-paper").toString()));
        assertFalse(Files.exists(dir.resolve("repro")));
        assertFalse(Files.exists(dir.resolve("rounds-paper")));
        for (String[] command : new String[][] {{"reproduce", "--preset", "paper"}, {"rounds", "--preset", "paper"}}) {
            assertOneLine(run(command), "quick or full", command);
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
