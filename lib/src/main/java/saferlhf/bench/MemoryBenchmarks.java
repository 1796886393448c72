package saferlhf.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import saferlhf.model.CausalLM;
import saferlhf.model.Generation;
import saferlhf.model.ModelConfig;
import saferlhf.model.Tokenizer;
import saferlhf.pipeline.MemoryPlan;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Peak resident memory of the kit against PyTorch on the same model and shapes, each part in a fresh process
 * ({@code saferlhf bench memory}). The model is a LLaMA of GPT-2-small size (hidden 768, 12 layers, 12 heads, MLP 3072,
 * 256 positions, vocabulary 1,024: 114.8M parameters, 459 MB of fp32 weights). Parts:
 * <ol>
 *   <li>{@code forward}: logits of 16 x 256 random tokens without gradients;</li>
 *   <li>{@code generation}: greedy KV-cache decoding of 64 new tokens for 16 prompts of 192 tokens;</li>
 *   <li>{@code train-step}: two steps of forward + cross-entropy + backward + global-norm clipping + AdamW on 4 x 256
 *       tokens (the second step also holds AdamW's two moments).</li>
 * </ol>
 * The kit's peak is the child JVM's VmHWM, PyTorch's the ru_maxrss of {@code bench_torch_memory.py} (Debian's PyTorch,
 * the same plain LLaMA as {@code bench_torch_train_step.py}), both with the allocator this process was started with
 * ({@link #allocator}). Target: kit / PyTorch <= 1.3 on each part.
 */
public final class MemoryBenchmarks {
    private MemoryBenchmarks() {}

    public static final String SCRIPT = "lib/src/test/python/bench_torch_memory.py";
    public static final double TARGET = 1.3;
    public static final List<String> PARTS = List.of("forward", "generation", "train-step");
    static final ObjectMapper JSON = new ObjectMapper();

    /** The model and the sizes of every part. */
    public record Sizes(int vocabSize, int hiddenSize, int numLayers, int numHeads, int intermediateSize, int seqLen,
            int forwardBatch, int genBatch, int promptLength, int newTokens, int trainBatch, int trainSteps, long seed) {
        /** GPT-2-small size, the shapes of issue 10. */
        public static final Sizes DEFAULT = new Sizes(1024, 768, 12, 12, 3072, 256, 16, 16, 192, 64, 4, 2, 0);
        /** A smoke test: seconds. */
        public static final Sizes QUICK = new Sizes(64, 32, 2, 4, 64, 16, 2, 2, 8, 4, 2, 2, 0);

        public Sizes {
            if (promptLength + newTokens > seqLen) throw new IllegalArgumentException("prompt_length + new_tokens must be <= seq_len");
        }

        public ModelConfig modelConfig() {
            return new ModelConfig("llama", vocabSize, hiddenSize, numLayers, numHeads, numHeads, intermediateSize, seqLen,
                    1e-6, 10000.0, false, false, 1, 2, 0);
        }

        /** The training step in the speed benchmark's terms (AdamW betas 0.9/0.95, weight decay 0.01, clip 1.0, lr 3e-4). */
        ModelBenchmarks.Shape10M trainShape() {
            return new ModelBenchmarks.Shape10M(vocabSize, hiddenSize, numLayers, numHeads, numHeads, intermediateSize, 10000.0,
                    1e-6, trainBatch, seqLen, 3e-4, 0.9, 0.95, 0.01, 1.0, seed);
        }

        /** bench_torch_memory.py's config keys. */
        public ObjectNode torchConfig() {
            ObjectNode n = trainShape().torchConfig(0, trainSteps);
            n.put("seq_len", seqLen);
            n.put("forward_batch", forwardBatch);
            n.put("gen_batch", genBatch);
            n.put("prompt_length", promptLength);
            n.put("new_tokens", newTokens);
            n.put("train_batch", trainBatch);
            n.put("train_steps", trainSteps);
            return n;
        }

        public static Sizes fromJson(String json) {
            try {
                return JSON.readValue(json, Sizes.class);
            } catch (IOException e) {
                throw new IllegalArgumentException("bad sizes: " + json + ": " + e.getMessage(), e);
            }
        }

        String toJson() {
            try {
                return JSON.writeValueAsString(this);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * @param sizes   the model and shapes
     * @param torch   run the PyTorch reference
     * @param threads intra-op threads of both sides (0: each library's default)
     * @param python  the interpreter with torch
     */
    public record Options(Sizes sizes, boolean torch, int threads, Path python) {
    }

    /** Every part: the kit in a fresh JVM, then PyTorch in a fresh process, and the ratio of their peaks. */
    public static ObjectNode run(Options o, PrintStream log) {
        ObjectNode out = JSON.createObjectNode();
        out.put("benchmark", "memory");
        out.put("date", LocalDate.now().toString());
        out.put("cpus", Runtime.getRuntime().availableProcessors());
        out.put("threads", o.threads());
        out.set("sizes", JSON.valueToTree(o.sizes()));
        out.put("params", o.sizes().modelConfig().parameterCount());
        out.put("load_average_before", ModelBenchmarks.loadAverage());
        out.put("allocator", allocator());
        out.put("target", TARGET);
        ObjectNode parts = out.putObject("parts");
        for (String part : PARTS) {
            log.printf("bench memory: %s, kit (fresh JVM) ...%n", part);
            ObjectNode p = parts.putObject(part);
            p.set("kit", ChildJvm.run(List.of("bench", "memory", "--part", part, "--sizes", o.sizes().toJson()), o.threads()));
            JsonNode torch;
            if (o.torch()) {
                log.printf("bench memory: %s, PyTorch (fresh process) ...%n", part);
                torch = torchPart(part, o);
            } else {
                torch = ModelBenchmarks.unavailable("--no-torch");
            }
            p.set("torch", torch);
            double planned = plan(part, o.sizes()).peakMib();
            p.put("plan_mb", ModelBenchmarks.round(planned, 1));
            p.put("plan_over_kit", ModelBenchmarks.round(planned / p.get("kit").get("peak_rss_mb").asDouble(), 2));
            if (torch.path("available").asBoolean(false)) {
                double ratio = p.get("kit").get("peak_rss_mb").asDouble() / torch.get("peak_rss_mb").asDouble();
                p.put("ratio_kit_over_torch", ModelBenchmarks.round(ratio, 2));
                p.put("meets_target", ratio <= TARGET);
            }
        }
        out.put("load_average_after", ModelBenchmarks.loadAverage());
        return out;
    }

    /**
     * The malloc both sides run with: children inherit this process's environment, so a tcmalloc that {@code ./saferlhf}
     * preloads serves the kit's JVMs and PyTorch alike.
     */
    static String allocator() {
        String preload = System.getenv().getOrDefault("LD_PRELOAD", "");
        return preload.contains("tcmalloc") ? "tcmalloc (LD_PRELOAD " + preload + ")" : "glibc malloc";
    }

    /** The memory estimate of a part ({@code saferlhf STAGE --plan} uses the same model). */
    public static MemoryPlan.Plan plan(String part, Sizes s) {
        return switch (part) {
            case "forward" -> MemoryPlan.forward(s.modelConfig(), s.forwardBatch(), s.seqLen());
            case "generation" -> MemoryPlan.generation(s.modelConfig(), s.genBatch(), s.promptLength(), s.newTokens());
            case "train-step" -> MemoryPlan.trainStep(s.modelConfig(), s.trainBatch(), s.seqLen());
            default -> throw new IllegalArgumentException("unknown part '" + part + "' (" + String.join(", ", PARTS) + ")");
        };
    }

    /** One part in this process (the child JVM's side): its figures and this process's peak RSS. */
    public static ObjectNode runPart(String part, Sizes s) {
        Engine.getInstance();
        try (NDManager warm = NDManager.newBaseManager()) {
            warm.ones(new Shape(2, 2)).matMul(warm.ones(new Shape(2, 2))).toFloatArray(); // libtorch loaded and running
        }
        double before = saferlhf.util.KitJvm.procStatusMib("self", "VmRSS");
        ObjectNode r = switch (part) {
            case "forward" -> forward(s);
            case "generation" -> generation(s);
            case "train-step" -> ModelBenchmarks.trainStep(s.trainShape(), 0, s.trainSteps());
            default -> throw new IllegalArgumentException("unknown part '" + part + "' (" + String.join(", ", PARTS) + ")");
        };
        r.put("part", part);
        r.put("rss_mb_before_model", ModelBenchmarks.round(before, 1));
        r.put("peak_rss_mb", ModelBenchmarks.round(saferlhf.util.KitJvm.procStatusMib("self", "VmHWM"), 1));
        r.put("heap_committed_mb", ModelBenchmarks.round(
                java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted() / 1048576.0, 1));
        return r;
    }

    static ObjectNode forward(Sizes s) {
        ObjectNode r = JSON.createObjectNode();
        int b = s.forwardBatch(), t = s.seqLen();
        try (CausalLM lm = CausalLM.create(s.modelConfig(), ai.djl.Device.cpu(), s.seed());
             NDManager step = lm.manager().newSubManager()) {
            NDArray ids = step.create(randomTokens(b * t, s.vocabSize(), s.seed()), new Shape(b, t)); // (B, T)
            NDArray mask = ids.onesLike();                                                           // (B, T)
            NDArray logits = lm.forward(ids, mask);                                                   // (B, T, V)
            r.put("params", lm.parameterCount());
            r.put("batch", b);
            r.put("seq_len", t);
            r.put("logits_sum", logits.sum().getFloat());
        }
        return r;
    }

    static ObjectNode generation(Sizes s) {
        ObjectNode r = JSON.createObjectNode();
        int b = s.genBatch(), p = s.promptLength();
        long[] mask = new long[b * p];
        Arrays.fill(mask, 1);
        Tokenizer.Batch prompts = new Tokenizer.Batch(b, p, randomTokens(b * p, s.vocabSize(), s.seed()), mask);
        try (CausalLM lm = CausalLM.create(s.modelConfig(), ai.djl.Device.cpu(), s.seed())) {
            Generation.Output g = Generation.generate(lm, prompts, Generation.Config.greedy(s.newTokens()), -1, -1, -1);
            r.put("params", lm.parameterCount());
            r.put("batch", b);
            r.put("prompt_length", p);
            r.put("new_tokens", s.newTokens());
            r.put("length", g.length());
        }
        return r;
    }

    private static long[] randomTokens(int n, int vocab, long seed) {
        return new Random(seed + 1).longs(n, 0, vocab).toArray();
    }

    /** bench_torch_memory.py for one part, on OpenBLAS-OpenMP where installed; {"available": false, ...} when it cannot run. */
    static ObjectNode torchPart(String part, Options o) {
        java.util.Map<String, String> env = new java.util.HashMap<>();
        if (o.threads() > 0) env.put("OMP_NUM_THREADS", String.valueOf(o.threads()));
        Path openblas = Path.of("/usr/lib/x86_64-linux-gnu/openblas-openmp");
        if (Files.isDirectory(openblas)) {
            String old = System.getenv("LD_LIBRARY_PATH");
            env.put("LD_LIBRARY_PATH", old == null || old.isEmpty() ? openblas.toString() : openblas + ":" + old);
        }
        return ModelBenchmarks.runTorchScript(o.python(), SCRIPT, o.sizes().torchConfig(),
                List.of("--part", part, "--threads", String.valueOf(o.threads())), env);
    }

    /** A readable table of {@link #run}'s result. */
    public static String table(JsonNode r) {
        StringBuilder t = new StringBuilder();
        JsonNode s = r.get("sizes");
        t.append(String.format("saferlhf bench memory  (%s, %d CPUs, %d threads each side; load average %.2f before, %.2f after)%n",
                r.get("date").asText(), r.get("cpus").asInt(), r.get("threads").asInt(), r.get("load_average_before").asDouble(),
                r.get("load_average_after").asDouble()));
        t.append(String.format("Model: LLaMA H%d, %d layers, %d heads, MLP %d, vocab %d, %d positions: %,d params (%.0f MB fp32)%n",
                s.get("hiddenSize").asInt(), s.get("numLayers").asInt(), s.get("numHeads").asInt(), s.get("intermediateSize").asInt(),
                s.get("vocabSize").asInt(), s.get("seqLen").asInt(), r.get("params").asLong(), r.get("params").asLong() * 4 / 1048576.0));
        t.append(String.format("  %-58s %12s %12s %8s  %-14s %10s%n", "part", "kit MiB", "PyTorch MiB", "ratio", "target <= " + r.get("target").asDouble(),
                "plan MiB"));
        JsonNode parts = r.get("parts");
        for (String name : PARTS) {
            JsonNode p = parts.get(name);
            String what = switch (name) {
                case "forward" -> String.format("forward, no grad, %d x %d", s.get("forwardBatch").asInt(), s.get("seqLen").asInt());
                case "generation" -> String.format("KV-cache generation, %d prompts x %d + %d new", s.get("genBatch").asInt(),
                        s.get("promptLength").asInt(), s.get("newTokens").asInt());
                default -> String.format("training step + AdamW, %d x %d (%d steps)", s.get("trainBatch").asInt(),
                        s.get("seqLen").asInt(), s.get("trainSteps").asInt());
            };
            JsonNode torch = p.get("torch");
            boolean have = torch.path("available").asBoolean(false);
            t.append(String.format("  %-58s %12.1f %12s %8s  %-14s %10.0f (%+.0f%%)%n", what, p.get("kit").get("peak_rss_mb").asDouble(),
                    have ? String.format("%.1f", torch.get("peak_rss_mb").asDouble()) : "n/a",
                    have ? String.format("%.2f", p.get("ratio_kit_over_torch").asDouble()) : "n/a",
                    have ? (p.get("meets_target").asBoolean() ? "met" : "NOT met") : "PyTorch not run", p.get("plan_mb").asDouble(),
                    100 * (p.get("plan_over_kit").asDouble() - 1)));
        }
        JsonNode any = parts.get(PARTS.get(0));
        t.append(String.format("Before the model: kit JVM + libtorch %.1f MB", any.get("kit").get("rss_mb_before_model").asDouble()));
        if (any.get("torch").path("available").asBoolean(false)) {
            t.append(String.format(", Python + torch %s %.1f MB", any.get("torch").get("torch_version").asText(),
                    any.get("torch").get("rss_mb_before_model").asDouble()));
        }
        if (!any.get("torch").path("available").asBoolean(false)) {
            t.append(String.format("%nPyTorch not run: %s", any.get("torch").get("reason").asText()));
        }
        t.append(String.format("%nplan MiB: the estimate of saferlhf.pipeline.MemoryPlan (as STAGE --plan prints), vs the kit's peak."));
        t.append(String.format("%nPeak RSS: VmHWM of a fresh JVM per part, ru_maxrss of a fresh Python per part; both with %s%n",
                r.get("allocator").asText()));
        return t.toString();
    }
}
