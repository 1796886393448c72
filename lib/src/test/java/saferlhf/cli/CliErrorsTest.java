package saferlhf.cli;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

/**
 * Bad input through the real command line ({@link Main#commandLine}): every command answers with exit code 2 and one
 * line, {@code error: FILE: what is wrong}, naming the file, without a stack trace; {@code --verbose} adds the trace.
 */
class CliErrorsTest {
    @TempDir
    static Path dir;
    private static Path lm, rm;

    @BeforeAll
    static void goodFolders() throws IOException {
        Offline.apply();
        try (Tokenizer tokenizer = Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
             CausalLM actor = CausalLM.create(ModelConfig.tinyLlama(tokenizer.vocabSize()), Device.cpu(), 1);
             ScoreModel reward = ScoreModel.create(ModelConfig.tinyLlama(tokenizer.vocabSize()), ScoreType.REWARD, Device.cpu(), 2)) {
            lm = dir.resolve("lm");
            rm = dir.resolve("rm");
            ModelFiles.save(actor, tokenizer, lm);
            ModelFiles.save(reward, tokenizer, rm);
        }
    }

    record Result(int code, String out, String err) {
        List<String> errLines() { return err.lines().filter(line -> !line.isBlank()).toList(); }
    }

    static Result run(String... args) {
        CommandLine cli = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new Result(code, out.toString(), err.toString());
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
            if (how != Break.BROKEN_TOKENIZER) { // RL scores with the actor's tokenizer: a score model's own is not read
                commands.add(new String[] {"ppo", "--preset", "quick", "actor_model_name_or_path=" + lm, "reward_model_name_or_path=" + rmBad[0], out});
            }
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

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
