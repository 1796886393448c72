package saferlhf.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import saferlhf.KitPaths;
import saferlhf.model.AdamW;
import saferlhf.model.CausalLM;
import saferlhf.model.Generation;
import saferlhf.model.ModelConfig;
import saferlhf.model.Nd;
import saferlhf.model.Tokenizer;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Speed and memory of the models package, measured in one run on this machine and printed as ratios against a
 * reference (the project's rule: no timed unit tests). Three parts:
 * <ol>
 *   <li>{@code train-step}: tokens/s of one training step (forward, cross-entropy, backward, global-norm clipping,
 *       the kit's AdamW) of the ~10M-parameter LLaMA-style model of {@code bench_torch_train_step.config.json},
 *       vs the same architecture in PyTorch ({@code lib/src/test/python/bench_torch_train_step.py}, a subprocess);
 *       measured kit, PyTorch, kit, and the kit's timed steps of both runs pooled into one median.</li>
 *   <li>{@code generation}: greedy tokens/s with the KV cache ({@link Generation}) vs without it (a full forward pass
 *       over the whole sequence for each new token, same batch, same argmax).</li>
 *   <li>peak resident memory: VmHWM of the JVM that ran each part (a fresh child JVM per part unless
 *       {@link Options#fork()} is off, then the process peak so far), and PyTorch's ru_maxrss.</li>
 * </ol>
 * {@link #run} returns one JSON object; {@link #table} renders it. The CLI is {@code saferlhf bench models}.
 */
public final class ModelBenchmarks {
    private ModelBenchmarks() {}

    public static final String INSTALL_REFERENCE = "apt-get install -y python3-torch python3-numpy libopenblas0-openmp";
    public static final String SCRIPT = "lib/src/test/python/bench_torch_train_step.py";
    /**
     * OpenMP wait policy for every child (kit JVMs and PyTorch alike) unless OMP_WAIT_POLICY is set: with the default
     * (spinning) policy, 2 threads on 2 cores shared with another busy process took 10-13 s a step here instead of 1 s,
     * for libtorch in the JVM as for PyTorch's 2x1 setting.
     */
    public static final String OMP_WAIT_POLICY = saferlhf.util.KitJvm.OMP_WAIT_POLICY;
    static final ObjectMapper JSON = new ObjectMapper();
    /** The training step's target, kit / PyTorch tokens per second (issue 11: ahead of PyTorch by 10%). */
    static final double TRAIN_STEP_TARGET = 1.1;

    /**
     * The training-step model and optimizer: {@link #DEFAULT} is exactly {@code bench_torch_train_step.config.json}
     * (9,902,208 parameters, batch 8 x 128).
     */
    public record Shape10M(int vocabSize, int hiddenSize, int numLayers, int numHeads, int numKvHeads, int intermediateSize,
            double ropeTheta, double normEps, int batchSize, int seqLen, double lr, double beta1, double beta2,
            double weightDecay, double maxGradNorm, long seed) {
        public static final Shape10M DEFAULT = new Shape10M(599, 384, 6, 6, 2, 1024, 10000.0, 1e-6, 8, 128, 3e-4, 0.9, 0.95, 0.01, 1.0, 0);
        /** A smoke-test size: H 64, 2 layers, batch 2 x 16. */
        public static final Shape10M QUICK = new Shape10M(599, 64, 2, 4, 2, 128, 10000.0, 1e-6, 2, 16, 3e-4, 0.9, 0.95, 0.01, 1.0, 0);

        public ModelConfig modelConfig() {
            return new ModelConfig("llama", vocabSize, hiddenSize, numLayers, numHeads, numKvHeads, intermediateSize,
                    Math.max(256, seqLen), normEps, ropeTheta, false, false, 1, 2, 0);
        }

        /** The Python script's config keys (as in bench_torch_train_step.config.json) with these step counts. */
        public ObjectNode torchConfig(int warmup, int steps) {
            ObjectNode n = JSON.createObjectNode();
            n.put("batch_size", batchSize);
            n.putArray("betas").add(beta1).add(beta2);
            n.put("hidden_size", hiddenSize);
            n.put("intermediate_size", intermediateSize);
            n.put("lr", lr);
            n.put("max_grad_norm", maxGradNorm);
            n.put("num_attention_heads", numHeads);
            n.put("num_hidden_layers", numLayers);
            n.put("num_key_value_heads", numKvHeads);
            n.put("rms_norm_eps", normEps);
            n.put("rope_theta", ropeTheta);
            n.put("seed", seed);
            n.put("seq_len", seqLen);
            n.put("steps", steps);
            n.put("tie_word_embeddings", false);
            n.put("vocab_size", vocabSize);
            n.put("warmup_steps", warmup);
            n.put("weight_decay", weightDecay);
            return n;
        }
    }

    /**
     * @param quick        smoke-test sizes ({@link Shape10M#QUICK}, a few tokens)
     * @param warmup       untimed training steps per run
     * @param steps        timed training steps per run (the kit runs twice, around PyTorch)
     * @param torch        run the PyTorch reference
     * @param fork         each kit part in a fresh child JVM (separate peak RSS); off: in this process
     * @param genBatch     generation batch
     * @param promptLength random prompt tokens per row
     * @param newTokens    tokens generated per row
     * @param cachedReps   timed repetitions with the KV cache (median); without the cache: one
     * @param python       the interpreter with torch ({@code /usr/bin/python3})
     * @param script       bench_torch_train_step.py, or null to look for it under the project root
     * @param kitThreads   intra-op thread counts the kit's training step tries in fresh JVMs (the best is compared, as
     *                     the Python script does for PyTorch); ignored without {@code fork}
     */
    public record Options(boolean quick, int warmup, int steps, boolean torch, boolean fork, int genBatch, int promptLength,
            int newTokens, int cachedReps, Path python, Path script, List<Integer> kitThreads) {
        public Options {
            if (warmup < 0 || steps < 1) throw new IllegalArgumentException("need warmup >= 0 and steps >= 1");
            if (genBatch < 1 || promptLength < 1 || newTokens < 1 || cachedReps < 1) throw new IllegalArgumentException("generation sizes must be >= 1");
        }

        public static Options defaults() {
            return new Options(false, 3, 10, true, true, 8, 16, 128, 3, Path.of("/usr/bin/python3"), null, defaultThreads());
        }

        /** Tiny sizes and a few steps, in this process, without PyTorch: seconds. */
        public static Options quickNoTorch() {
            return new Options(true, 1, 2, false, false, 2, 4, 8, 1, Path.of("/usr/bin/python3"), null, defaultThreads());
        }

        public Shape10M shape() { return quick ? Shape10M.QUICK : Shape10M.DEFAULT; }

        public Options withSteps(int warmup, int steps) {
            return new Options(quick, warmup, steps, torch, fork, genBatch, promptLength, newTokens, cachedReps, python, script, kitThreads);
        }

        /** 1 and the number of cores (1 and 2 here). */
        public static List<Integer> defaultThreads() {
            int cores = Runtime.getRuntime().availableProcessors();
            return cores > 1 ? List.of(1, cores) : List.of(1);
        }
    }

    // ---- the whole run -------------------------------------------------------------------------------------------

    /** Runs every part (kit train step, PyTorch, kit train step again, generation) and returns one JSON object. */
    public static ObjectNode run(Options o, PrintStream log) {
        ObjectNode out = JSON.createObjectNode();
        out.put("benchmark", "models");
        out.put("date", LocalDate.now().toString());
        out.put("quick", o.quick());
        out.put("cpus", Runtime.getRuntime().availableProcessors());
        out.put("java", System.getProperty("java.version"));
        out.put("forked", o.fork());
        out.put("omp_wait_policy", o.fork() ? OMP_WAIT_POLICY : System.getenv().getOrDefault("OMP_WAIT_POLICY", "default"));
        out.put("load_average_before", loadAverage());
        log.printf("bench models: load average %.2f%n", loadAverage());

        Shape10M s = o.shape();
        ObjectNode train = out.putObject("train_step");
        train.set("config", s.torchConfig(o.warmup(), o.steps()));
        train.put("params", s.modelConfig().parameterCount());
        ArrayNode kitRuns = JSON.createArrayNode();
        List<Integer> threads = o.fork() ? o.kitThreads() : List.of(0);
        for (int t : threads) {
            log.printf("bench models: kit train step (round 1, %s) ...%n", t == 0 ? "default threads" : t + " threads");
            kitRuns.add(part("train-step", o, t, log));
        }
        JsonNode torch;
        if (o.torch()) {
            log.println("bench models: PyTorch train step (subprocess, tries thread settings) ...");
            torch = torchTrainStep(o, log);
            for (int t : threads) {
                log.printf("bench models: kit train step (round 2, %s) ...%n", t == 0 ? "default threads" : t + " threads");
                kitRuns.add(part("train-step", o, t, log));
            }
        } else {
            torch = unavailable("--no-torch");
        }
        train.set("kit", summarizeKit(kitRuns, s));
        train.set("torch", torch);
        train.put("target", TRAIN_STEP_TARGET);
        if (torch.path("available").asBoolean(false)) {
            double ratio = train.get("kit").get("tokens_per_second").asDouble() / torch.get("tokens_per_second").asDouble();
            train.put("ratio_kit_over_torch", round(ratio, 3));
            train.put("meets_target", ratio >= TRAIN_STEP_TARGET);
        }

        ObjectNode gen = null; // the kit's best thread setting, as PyTorch's best is compared
        for (int t : threads) {
            log.printf("bench models: generation with and without the KV cache (%s) ...%n", threadsLabel(t));
            ObjectNode run = part("generation", o, t, log);
            if (gen == null || run.get("cached").get("tokens_per_second").asDouble() > gen.get("cached").get("tokens_per_second").asDouble()) gen = run;
        }
        gen.put("target", 5.0);
        gen.put("meets_target", gen.get("ratio_cached_over_uncached").asDouble() >= 5.0);
        JsonNode torchGen;
        if (o.torch()) {
            log.println("bench models: PyTorch KV-cache generation (subprocess, tries thread settings) ...");
            ObjectNode config = s.torchConfig(0, 1);
            config.put("task", "generate");
            config.put("gen_batch", o.genBatch());
            config.put("prompt_length", o.promptLength());
            config.put("new_tokens", o.newTokens());
            config.put("gen_reps", o.cachedReps());
            ObjectNode r = runTorchScript(o.python(), o.script() != null ? o.script().toString() : SCRIPT, config, List.of(), java.util.Map.of());
            r.remove("config");
            torchGen = r;
        } else {
            torchGen = unavailable("--no-torch");
        }
        gen.set("torch", torchGen);
        gen.put("target_vs_torch", 1.0);
        if (torchGen.path("available").asBoolean(false)) {
            double ratio = gen.get("cached").get("tokens_per_second").asDouble() / torchGen.get("tokens_per_second").asDouble();
            gen.put("ratio_kit_over_torch", round(ratio, 3));
            gen.put("meets_target_vs_torch", ratio >= 1.0);
        }
        out.set("generation", gen);
        out.put("load_average_after", loadAverage());
        return out;
    }

    /** One part ({@code train-step} or {@code generation}), in a fresh JVM with {@code threads} when {@link Options#fork()}. */
    static ObjectNode part(String name, Options o, int threads, PrintStream log) {
        if (o.fork()) return fork(name, o, threads, log);
        return runPart(name, o);
    }

    /** One part in this process, with this process's peak and current RSS afterwards. */
    public static ObjectNode runPart(String name, Options o) {
        Shape10M s = o.shape();
        ObjectNode r = switch (name) {
            case "train-step" -> trainStep(s, o.warmup(), o.steps());
            case "generation" -> generation(s.modelConfig(), o.genBatch(), o.promptLength(), o.newTokens(), o.cachedReps(), s.seed());
            default -> throw new IllegalArgumentException("unknown part '" + name + "' (train-step, generation)");
        };
        String threads = System.getProperty("ai.djl.pytorch.num_threads");
        r.put("threads", threads == null ? 0 : Integer.parseInt(threads)); // 0: DJL's default
        r.put("load_average", loadAverage());
        r.put("peak_rss_mb", round(saferlhf.util.KitJvm.procStatusMib("self", "VmHWM"), 1));
        r.put("rss_mb", round(saferlhf.util.KitJvm.procStatusMib("self", "VmRSS"), 1));
        return r;
    }

    /** Re-launches {@code saferlhf bench models --part NAME} in a fresh JVM with {@code threads} intra-op threads. */
    static ObjectNode fork(String name, Options o, int threads, PrintStream log) {
        List<String> args = new ArrayList<>(List.of("bench", "models", "--part", name, "--warmup", String.valueOf(o.warmup()),
                "--steps", String.valueOf(o.steps())));
        if (o.quick()) args.add("--quick");
        return ChildJvm.run(args, threads);
    }

    // ---- a: the training step ------------------------------------------------------------------------------------

    /**
     * Warm-up steps, then {@code steps} timed steps of forward + mean next-token cross-entropy over all B x L targets +
     * backward + {@link Nd#clipGradNorm} + {@link AdamW#step}, on a fixed batch of random tokens (as the Python script).
     */
    public static ObjectNode trainStep(Shape10M s, int warmup, int steps) {
        Engine.getInstance().setRandomSeed((int) s.seed());
        int b = s.batchSize(), l = s.seqLen();
        Random random = new Random(s.seed());
        long[] inputs = new long[b * l], targets = new long[b * l], ones = new long[b * l];
        for (int i = 0; i < b; i++) {
            long[] row = random.longs(l + 1, 0, s.vocabSize()).toArray(); // tokens (B, L+1): inputs [:-1], targets [1:]
            System.arraycopy(row, 0, inputs, i * l, l);
            System.arraycopy(row, 1, targets, i * l, l);
        }
        Arrays.fill(ones, 1);
        float[] losses = new float[warmup + steps];
        double[] ms = new double[steps];
        double[][] phases = new double[4][steps]; // forward (+ loss), backward, clip, AdamW
        long params;
        try (CausalLM lm = CausalLM.create(s.modelConfig(), ai.djl.Device.cpu(), s.seed());
             AdamW opt = new AdamW(lm.namedParameters(), new AdamW.Config(s.beta1(), s.beta2(), 1e-8, s.weightDecay()))) {
            params = lm.parameterCount();
            for (int i = 0; i < warmup + steps; i++) {
                long t0 = System.nanoTime();
                long[] t = new long[4];
                float loss;
                try (NDManager step = lm.manager().newSubManager();
                     GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray ids = step.create(inputs, new Shape(b, l));                       // (B, L)
                    NDArray mask = step.create(ones, new Shape(b, l));                        // (B, L)
                    NDArray tgt = step.create(targets, new Shape(b, l));                      // (B, L)
                    NDArray logp = lm.forward(ids, mask).logSoftmax(-1);                      // (B, L, V)
                    NDArray nll = Nd.gatherLast(logp, tgt).mean().neg();                      // () cross_entropy, mean
                    t[0] = System.nanoTime();
                    gc.backward(nll);
                    loss = nll.getFloat();
                    t[1] = System.nanoTime();
                }
                Nd.clipGradNorm(lm.namedParameters().values(), s.maxGradNorm());
                t[2] = System.nanoTime();
                opt.step(s.lr());
                t[3] = System.nanoTime();
                if (i >= warmup) {
                    ms[i - warmup] = (t[3] - t0) / 1e6;
                    for (int k = 0; k < 4; k++) phases[k][i - warmup] = (t[k] - (k == 0 ? t0 : t[k - 1])) / 1e6;
                }
                losses[i] = loss;
            }
        }
        for (float loss : losses) if (!Float.isFinite(loss)) throw new IllegalStateException("non-finite loss: " + Arrays.toString(losses));
        ObjectNode r = JSON.createObjectNode();
        r.put("params", params);
        ArrayNode times = r.putArray("step_ms");
        for (double t : ms) times.add(round(t, 1));
        r.put("ms_per_step", round(median(ms), 1));
        r.put("ms_per_step_mean", round(Arrays.stream(ms).average().orElse(0), 1));
        r.put("ms_per_step_min", round(Arrays.stream(ms).min().orElse(0), 1));
        r.put("tokens_per_second", round(b * l / (median(ms) / 1000), 1));
        ObjectNode split = r.putObject("median_ms_by_phase"); // eager CPU ops: each phase is done when its call returns
        String[] names = {"forward_loss", "backward", "clip", "adamw"};
        for (int k = 0; k < 4; k++) split.put(names[k], round(median(phases[k]), 1));
        r.put("loss_first", round(losses[0], 4));
        r.put("loss_last", round(losses[losses.length - 1], 4));
        // model FLOPs as nanoGPT counts them: 6 N per token (forward + backward) + 12 layers H T per token for attention
        ModelConfig c = s.modelConfig();
        double flopsPerStep = ((double) b * l) * (6.0 * params + 12.0 * c.numLayers() * c.hiddenSize() * l);
        double peak = matmulPeakGflops();
        r.put("model_gflop_per_step", round(flopsPerStep / 1e9, 2));
        r.put("achieved_gflops", round(flopsPerStep / 1e9 / (median(ms) / 1000), 2));
        r.put("matmul_peak_gflops", round(peak, 2));
        r.put("mfu", round(flopsPerStep / 1e9 / (median(ms) / 1000) / peak, 3));
        return r;
    }

    /**
     * This machine's fp32 matrix-multiply peak through DJL at this JVM's threads: the best of 10 timed 1024 x 1024 x 1024
     * products after 3 untimed ones, in GFLOP/s (2 n^3 / seconds).
     */
    static double matmulPeakGflops() {
        int n = 1024;
        double best = 0;
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.randomUniform(-1, 1, new Shape(n, n)), b = m.randomUniform(-1, 1, new Shape(n, n));
            for (int i = 0; i < 13; i++) {
                long t0 = System.nanoTime();
                try (NDArray c = a.matMul(b)) {
                    c.getFloat(0, 0); // done
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                if (i >= 3) best = Math.max(best, 2.0 * n * n * n / seconds / 1e9);
            }
        }
        return best;
    }

    /**
     * The kit's runs per thread setting, pooled over rounds (the median over every timed step of that setting's runs),
     * and the best setting (as the Python script reports its best).
     */
    static ObjectNode summarizeKit(ArrayNode runs, Shape10M s) {
        java.util.TreeMap<Integer, List<Double>> byThreads = new java.util.TreeMap<>();
        double peak = 0;
        for (JsonNode run : runs) {
            List<Double> steps = byThreads.computeIfAbsent(run.get("threads").asInt(), k -> new ArrayList<>());
            run.get("step_ms").forEach(t -> steps.add(t.asDouble()));
            peak = Math.max(peak, run.get("peak_rss_mb").asDouble());
        }
        ObjectNode k = JSON.createObjectNode();
        ArrayNode settings = JSON.createArrayNode();
        ObjectNode best = null;
        for (var e : byThreads.entrySet()) {
            double median = median(e.getValue().stream().mapToDouble(Double::doubleValue).toArray());
            ObjectNode setting = settings.addObject();
            setting.put("threads", e.getKey());
            setting.put("timed_steps", e.getValue().size());
            setting.put("ms_per_step", round(median, 1));
            setting.put("tokens_per_second", round(s.batchSize() * s.seqLen() / (median / 1000), 1));
            if (best == null || setting.get("tokens_per_second").asDouble() > best.get("tokens_per_second").asDouble()) best = setting;
        }
        k.put("threads", best.get("threads").asInt());
        k.put("ms_per_step", best.get("ms_per_step").asDouble());
        k.put("tokens_per_second", best.get("tokens_per_second").asDouble());
        k.put("peak_rss_mb", peak);
        // achieved model FLOP/s at the best setting against the fp32 matmul peak its runs measured (MFU, as nanoGPT prints it)
        double matmulPeak = 0, gflopPerStep = 0;
        for (JsonNode run : runs) {
            if (run.get("threads").asInt() != best.get("threads").asInt()) continue;
            matmulPeak = Math.max(matmulPeak, run.get("matmul_peak_gflops").asDouble());
            gflopPerStep = run.get("model_gflop_per_step").asDouble();
        }
        double achieved = gflopPerStep / (best.get("ms_per_step").asDouble() / 1000);
        k.put("achieved_gflops", round(achieved, 2));
        k.put("matmul_peak_gflops", round(matmulPeak, 2));
        k.put("mfu", round(achieved / matmulPeak, 3));
        k.set("by_threads", settings);
        k.set("runs", runs);
        return k;
    }

    // ---- a: the PyTorch reference --------------------------------------------------------------------------------

    /** Runs the Python script with the same shape and step counts; {"available": false, ...} when it cannot. */
    public static ObjectNode torchTrainStep(Options o, PrintStream log) {
        ObjectNode r = runTorchScript(o.python(), o.script() != null ? o.script().toString() : SCRIPT,
                o.shape().torchConfig(o.warmup(), o.steps()), List.of(), java.util.Map.of());
        r.remove("config");
        return r;
    }

    /**
     * Runs a PyTorch reference script with {@code --config FILE} (the JSON {@code config}) and {@code args}, with
     * OMP_WAIT_POLICY and {@code env} set, and returns the last JSON line it prints with {@code available: true}; or
     * {@code available: false} and the reason when Python, torch or the script is missing or the script fails.
     *
     * @param script a path, relative to the project root unless absolute
     */
    static ObjectNode runTorchScript(Path python, String script, JsonNode config, List<String> args, java.util.Map<String, String> env) {
        Path file;
        try {
            file = Path.of(script).isAbsolute() ? Path.of(script) : KitPaths.projectRoot().resolve(script);
        } catch (IllegalStateException e) {
            return unavailable("cannot find " + script + ": " + e.getMessage());
        }
        if (!Files.isRegularFile(file)) return unavailable("no script " + file);
        if (!Files.isExecutable(python)) return unavailable(python + " not found");
        try {
            Process probe = new ProcessBuilder(python.toString(), "-c", "import torch, numpy").redirectErrorStream(true).start();
            String probeOut = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!probe.waitFor(120, TimeUnit.SECONDS) || probe.exitValue() != 0) {
                return unavailable(python + " cannot import torch and numpy: " + lastLine(probeOut));
            }
            Path configFile = Files.createTempFile("bench-torch-", ".json");
            try {
                Files.writeString(configFile, config.toPrettyString());
                List<String> cmd = new ArrayList<>(List.of(python.toString(), file.toString(), "--config", configFile.toString()));
                cmd.addAll(args);
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
                pb.environment().put("OMP_WAIT_POLICY", OMP_WAIT_POLICY); // the train-step script passes it to its children
                pb.environment().putAll(env);
                Process p = pb.start();
                String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (p.waitFor() != 0) return unavailable(file.getFileName() + " exited with " + p.exitValue());
                ObjectNode r = (ObjectNode) JSON.readTree(lastJsonLine(stdout));
                r.put("available", true);
                return r;
            } finally {
                Files.deleteIfExists(configFile);
            }
        } catch (IOException e) {
            return unavailable("cannot run " + python + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return unavailable("interrupted");
        }
    }

    static ObjectNode unavailable(String reason) {
        ObjectNode n = JSON.createObjectNode();
        n.put("available", false);
        n.put("reason", reason);
        n.put("install", INSTALL_REFERENCE);
        return n;
    }

    // ---- b: generation with and without the KV cache -------------------------------------------------------------

    /**
     * Greedy generation of {@code newTokens} tokens for {@code batch} random prompts of {@code promptLength} tokens:
     * {@link Generation#generate} (KV cache; median of {@code cachedReps} after one warm-up) vs {@link #generateUncached}
     * (one timed repetition after a short warm-up). No EOS, so every row generates every token.
     */
    public static ObjectNode generation(ModelConfig c, int batch, int promptLength, int newTokens, int cachedReps, long seed) {
        Random random = new Random(seed + 1);
        long[] ids = new long[batch * promptLength], mask = new long[batch * promptLength];
        for (int i = 0; i < ids.length; i++) ids[i] = 3 + random.nextInt(c.vocabSize() - 3);
        Arrays.fill(mask, 1);
        Tokenizer.Batch prompts = new Tokenizer.Batch(batch, promptLength, ids, mask);
        ObjectNode r = JSON.createObjectNode();
        try (CausalLM lm = CausalLM.create(c, ai.djl.Device.cpu(), seed)) {
            r.put("model", String.format("llama H%d L%d heads %d/%d MLP %d V%d", c.hiddenSize(), c.numLayers(), c.numHeads(),
                    c.numKvHeads(), c.intermediateSize(), c.vocabSize()));
            r.put("params", lm.parameterCount());
            r.put("batch", batch);
            r.put("prompt_length", promptLength);
            r.put("new_tokens", newTokens);
            Generation.generate(lm, prompts, Generation.Config.greedy(Math.min(8, newTokens)), -1, -1, -1); // warm-up
            double[] cachedS = new double[cachedReps];
            long[] cachedSeq = null;
            for (int i = 0; i < cachedReps; i++) {
                long t0 = System.nanoTime();
                cachedSeq = Generation.generate(lm, prompts, Generation.Config.greedy(newTokens), -1, -1, -1).sequences();
                cachedS[i] = (System.nanoTime() - t0) / 1e9;
            }
            generateUncached(lm, prompts, Math.min(4, newTokens)); // warm-up
            long t0 = System.nanoTime();
            long[] uncachedSeq = generateUncached(lm, prompts, newTokens);
            double uncachedS = (System.nanoTime() - t0) / 1e9;
            double generated = (double) batch * newTokens;
            ObjectNode cached = r.putObject("cached");
            cached.put("repetitions", cachedReps);
            cached.put("seconds", round(median(cachedS), 3));
            cached.put("tokens_per_second", round(generated / median(cachedS), 1));
            ObjectNode uncached = r.putObject("uncached");
            uncached.put("repetitions", 1);
            uncached.put("seconds", round(uncachedS, 3));
            uncached.put("tokens_per_second", round(generated / uncachedS, 1));
            r.put("ratio_cached_over_uncached", round(uncachedS / median(cachedS), 2));
            r.put("tokens_match", Arrays.equals(cachedSeq, uncachedSeq));
            // greedy decoding of a random model meets near-ties: the two paths' products take different kernels (one
            // position vs all), which round differently, so a near-tie can flip and the rows diverge from there
            int sequenceLength = cachedSeq.length / batch, firstDifference = newTokens;
            for (int b = 0; b < batch; b++) {
                for (int j = promptLength; j < sequenceLength; j++) {
                    if (cachedSeq[b * sequenceLength + j] != uncachedSeq[b * sequenceLength + j]) {
                        firstDifference = Math.min(firstDifference, j - promptLength);
                        break;
                    }
                }
            }
            r.put("tokens_match_until", firstDifference);
        }
        return r;
    }

    /**
     * Greedy decoding without a cache: each new token is the argmax of a full forward pass over the whole sequence so
     * far (same per-step work as {@link Generation} otherwise: last-position log-softmax, gather, host copies).
     *
     * @return the sequences (B, S + newTokens), row-major, as {@link Generation.Output#sequences()}
     */
    public static long[] generateUncached(CausalLM lm, Tokenizer.Batch prompts, int newTokens) {
        int batch = prompts.size(), promptLength = prompts.length(), capacity = promptLength + newTokens;
        long[] seq = new long[batch * capacity];
        for (int b = 0; b < batch; b++) System.arraycopy(prompts.inputIds(), b * promptLength, seq, b * capacity, promptLength);
        for (int step = 0; step < newTokens; step++) {
            int total = promptLength + step;
            long[] ids = new long[batch * total], mask = new long[batch * total];
            for (int b = 0; b < batch; b++) System.arraycopy(seq, b * capacity, ids, b * total, total);
            Arrays.fill(mask, 1);
            try (NDManager s = lm.manager().newSubManager()) {
                NDArray logits = lm.forward(s.create(ids, new Shape(batch, total)), s.create(mask, new Shape(batch, total))); // (B, T, V)
                NDArray last = logits.get(new NDIndex(":, -1, :"));                                  // (B, V)
                NDArray logp = last.logSoftmax(1);                                                   // (B, V)
                NDArray next = last.argMax(1).toType(DataType.INT64, false);                         // (B)
                long[] tokens = next.toLongArray();
                Nd.gatherLast(logp.expandDims(1), next.reshape(batch, 1)).toFloatArray();          // (B), as Generation does
                for (int b = 0; b < batch; b++) seq[b * capacity + total] = tokens[b];
            }
        }
        return seq;
    }

    // ---- output --------------------------------------------------------------------------------------------------

    /** A readable table of {@link #run}'s result. */
    public static String table(JsonNode r) {
        StringBuilder t = new StringBuilder();
        JsonNode train = r.get("train_step"), cfg = train.get("config"), kit = train.get("kit"), torch = train.get("torch");
        t.append(String.format("saferlhf bench models  (%s, %d CPUs, Java %s%s)%n", r.get("date").asText(), r.get("cpus").asInt(),
                r.get("java").asText(), r.get("quick").asBoolean() ? ", QUICK sizes" : ""));
        t.append(String.format("1-minute load average: %.2f before, %.2f after; OMP_WAIT_POLICY=%s for kit and PyTorch%n%n",
                r.get("load_average_before").asDouble(), r.get("load_average_after").asDouble(), r.path("omp_wait_policy").asText()));
        t.append(String.format("Training step: LLaMA-style H%d, %d layers, %d heads / %d KV, MLP %d, vocab %d (%,d params), batch %d x %d,%n",
                cfg.get("hidden_size").asInt(), cfg.get("num_hidden_layers").asInt(), cfg.get("num_attention_heads").asInt(),
                cfg.get("num_key_value_heads").asInt(), cfg.get("intermediate_size").asInt(), cfg.get("vocab_size").asInt(),
                train.get("params").asLong(), cfg.get("batch_size").asInt(), cfg.get("seq_len").asInt()));
        t.append(String.format("  forward + cross-entropy + backward + clip(%.1f) + AdamW; %d warm-up then median of %d timed steps per run%n",
                cfg.get("max_grad_norm").asDouble(), cfg.get("warmup_steps").asInt(), cfg.get("steps").asInt()));
        t.append(String.format("  %-34s %10s %12s %14s%n", "", "ms/step", "tokens/s", "peak RSS MB"));
        for (JsonNode run : kit.get("runs")) {
            JsonNode ph = run.get("median_ms_by_phase");
            t.append(String.format("    %-32s %10.1f %12.1f %14.1f   fwd+loss %.0f, bwd %.0f, clip %.0f, AdamW %.0f ms%n",
                    "kit run, " + threadsLabel(run.get("threads").asInt()), run.get("ms_per_step").asDouble(),
                    run.get("tokens_per_second").asDouble(), run.get("peak_rss_mb").asDouble(), ph.get("forward_loss").asDouble(),
                    ph.get("backward").asDouble(), ph.get("clip").asDouble(), ph.get("adamw").asDouble()));
        }
        t.append(String.format("  %-34s %10.1f %12.1f %14.1f%n", "kit (DJL) best, " + threadsLabel(kit.get("threads").asInt())
                + " pooled", kit.get("ms_per_step").asDouble(), kit.get("tokens_per_second").asDouble(), kit.get("peak_rss_mb").asDouble()));
        if (torch.path("available").asBoolean(false)) {
            String label = String.format("PyTorch %s best (%dx%d threads)", torch.get("torch_version").asText(),
                    torch.get("threads").asInt(), torch.get("openblas_threads").asInt());
            t.append(String.format("  %-34s %10.1f %12.1f %14.1f%n", label, torch.get("ms_per_step").asDouble(),
                    torch.get("tokens_per_second").asDouble(), torch.get("peak_rss_mb").asDouble()));
            for (JsonNode run : torch.get("runs")) {
                t.append(String.format("    %-32s %10.1f %12.1f %14.1f%n", String.format("torch %dx%d", run.get("threads").asInt(),
                        run.get("openblas_threads").asInt()), run.get("ms_per_step").asDouble(),
                        run.get("tokens_per_second").asDouble(), run.get("peak_rss_mb").asDouble()));
            }
            t.append(String.format("  ratio kit/PyTorch tokens/s: %.2f  (target >= %.1f: %s)%n", train.get("ratio_kit_over_torch").asDouble(), TRAIN_STEP_TARGET,
                    train.get("meets_target").asBoolean() ? "met" : "NOT met"));
        } else {
            t.append("  PyTorch reference not run: ").append(torch.get("reason").asText()).append(String.format("%n"));
            t.append("  install it with: ").append(torch.get("install").asText()).append(String.format("%n"));
        }
        t.append(String.format("  model FLOP/s (6 N + 12 L H T per token): %.1f GFLOP/s at the kit's best setting, against a measured fp32%n"
                + "  matmul peak of %.1f GFLOP/s at the same threads (1024^3, best of 10): MFU %.1f%%%n", kit.get("achieved_gflops").asDouble(),
                kit.get("matmul_peak_gflops").asDouble(), 100 * kit.get("mfu").asDouble()));
        JsonNode g = r.get("generation");
        t.append(String.format("%nGeneration (greedy, %s): %s (%,d params), batch %d, prompt %d, %d new tokens%n",
                threadsLabel(g.path("threads").asInt()), g.get("model").asText(),
                g.get("params").asLong(), g.get("batch").asInt(), g.get("prompt_length").asInt(), g.get("new_tokens").asInt()));
        t.append(String.format("  %-34s %10s %12s %14s%n", "", "seconds", "tokens/s", "repetitions"));
        t.append(String.format("  %-34s %10.3f %12.1f %14d%n", "with KV cache (median)", g.get("cached").get("seconds").asDouble(),
                g.get("cached").get("tokens_per_second").asDouble(), g.get("cached").get("repetitions").asInt()));
        t.append(String.format("  %-34s %10.3f %12.1f %14d%n", "without cache (full forward/token)", g.get("uncached").get("seconds").asDouble(),
                g.get("uncached").get("tokens_per_second").asDouble(), g.get("uncached").get("repetitions").asInt()));
        JsonNode tg = g.get("torch");
        if (tg.path("available").asBoolean(false)) {
            t.append(String.format("  %-34s %10.3f %12.1f %14d%n", String.format("PyTorch %s KV cache best (%dx%d)", tg.get("torch_version").asText(),
                    tg.get("threads").asInt(), tg.get("openblas_threads").asInt()), tg.get("seconds").asDouble(),
                    tg.get("tokens_per_second").asDouble(), g.get("cached").get("repetitions").asInt()));
        }
        t.append(String.format("  ratio cached/uncached: %.2fx  (target >= 5x: %s); same tokens: %s; peak RSS %.1f MB%n",
                g.get("ratio_cached_over_uncached").asDouble(), g.get("meets_target").asBoolean() ? "met" : "NOT met",
                g.get("tokens_match").asBoolean() ? "yes" : "the first " + g.path("tokens_match_until").asInt() + " of "
                        + g.path("new_tokens").asInt() + " in every row (near-ties, rounded apart)", g.get("peak_rss_mb").asDouble()));
        if (tg.path("available").asBoolean(false)) {
            t.append(String.format("  ratio kit/PyTorch KV-cache tokens/s: %.2f  (target >= 1.0: %s)%n", g.get("ratio_kit_over_torch").asDouble(),
                    g.get("meets_target_vs_torch").asBoolean() ? "met" : "NOT met"));
        } else {
            t.append("  PyTorch generation not run: ").append(tg.get("reason").asText()).append(String.format("%n"));
        }
        t.append(r.get("forked").asBoolean()
                ? "Peak RSS: VmHWM of a fresh JVM per part (-Xmx does not bound native memory); PyTorch: ru_maxrss of its child.\n"
                : "Peak RSS: VmHWM of this one JVM so far, read after each part (-Xmx does not bound native memory).\n");
        return t.toString();
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static String threadsLabel(int threads) { return threads == 0 ? "default threads" : threads + (threads == 1 ? " thread" : " threads"); }

    /** 1-minute load average (/proc/loadavg), -1 when unknown. */
    public static double loadAverage() {
        double l = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return round(l, 2);
    }

    static String lastJsonLine(String text) {
        String[] lines = text.strip().split("\n");
        for (int i = lines.length - 1; i >= 0; i--) if (lines[i].startsWith("{")) return lines[i];
        throw new IllegalStateException("no JSON line in: " + text);
    }

    private static String lastLine(String text) {
        String[] lines = text.split("\n");
        return lines[lines.length - 1];
    }

    static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static double round(double x, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(x * f) / f;
    }
}
