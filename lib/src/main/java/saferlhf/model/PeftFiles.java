package saferlhf.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import saferlhf.KitPaths;
import saferlhf.util.AtomicFiles;

/**
 * Adapter folders in PEFT's layout, so that Python's {@code PeftModel.from_pretrained(base, folder)} loads what the
 * kit trains, and the kit loads what PEFT saves:
 * <ul>
 * <li>{@code adapter_config.json}: PEFT's {@code LoraConfig} ({@code peft_type} LORA, {@code r}, {@code lora_alpha},
 *     {@code lora_dropout}, {@code target_modules}, {@code base_model_name_or_path}, {@code bias} "none",
 *     {@code task_type} CAUSAL_LM for a policy, {@code fan_in_fan_out} true for GPT-2's Conv1D,
 *     {@code modules_to_save} ["score_head"] for a score model).</li>
 * <li>{@code adapter_model.safetensors}: PEFT's tensor names, {@code base_model.model.MODULE.lora_A.weight} (r, in)
 *     and {@code base_model.model.MODULE.lora_B.weight} (out, r) (PEFT's {@code get_peft_model_state_dict} drops the
 *     adapter name "default"), and a score model's trainable head as {@code base_model.model.score_head.weight} /
 *     {@code .bias}, which is how PEFT saves a {@code modules_to_save} module. The safetensors metadata holds
 *     {@code format: pt} and the kit's dropout-draw count (for exact resume; PEFT ignores it).</li>
 * <li>The kit adds the tokenizer files and {@code saferlhf.json} (causal LM or score model, normalizer statistics),
 *     which PEFT ignores. No {@code config.json}: the architecture is the base model's.</li>
 * </ul>
 * A folder loads as its base with the adapters merged into the weights, {@code W' = W + (alpha / r) B A} ({@code
 * (B A)^T} for GPT-2's Conv1D, whose W is (in, out)), which is PEFT's {@code merge_and_unload}. The base is {@code
 * base_model_name_or_path}: an absolute path, or a path relative to the project root as everywhere in the kit; it may
 * itself be an adapter folder (adapters trained on top of a merged earlier stage).
 */
public final class PeftFiles {
    private PeftFiles() {}

    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** PEFT's key prefix: {@code PeftModel.base_model} (the LoRA tuner) {@code .model} (the wrapped HF model). */
    public static final String PREFIX = "base_model.model.";
    private static final String DROPOUT_DRAWS = "saferlhf_lora_dropout_draws";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_DEPTH = 8;

    /** What {@code adapter_config.json} says (the keys this kit reads). */
    public record AdapterConfig(int r, double loraAlpha, double loraDropout, List<String> targetModules,
                                String baseModelNameOrPath, boolean fanInFanOut, List<String> modulesToSave, String taskType,
                                boolean useRslora) {
        /** alpha / r (alpha / sqrt(r) with rsLoRA). */
        public double scaling() { return useRslora ? loraAlpha / Math.sqrt(r) : loraAlpha / r; }
    }

    /** Whether {@code folder} is an adapter folder (holds {@code adapter_config.json}). */
    public static boolean isAdapterFolder(Path folder) {
        return Files.isRegularFile(AtomicFiles.existingFolder(folder).resolve(CONFIG_FILE));
    }

    // ---- saving ---------------------------------------------------------------------------------------------------

    /** Saves a causal LM's adapters (not its frozen base) and its tokenizer, atomically. */
    static void save(CausalLM model, Tokenizer tokenizer, Path folder) throws IOException {
        write(folder, model.lora(), model.config(), Map.of(), "CAUSAL_LM", tokenizer, ModelFiles.Metadata.causalLm());
    }

    /** Saves a score model's adapters and its score head (PEFT's modules_to_save), with its normalizer statistics. */
    static void save(ScoreModel model, Tokenizer tokenizer, Path folder) throws IOException {
        Map<String, HostTensor> head = new LinkedHashMap<>();
        model.head().forEach((name, array) -> head.put(name, HostTensor.of(array)));
        write(folder, model.lora(), model.config(), head, null, tokenizer, ModelFiles.Metadata.of(model));
    }

    private static void write(Path folder, Lora lora, ModelConfig config, Map<String, HostTensor> modulesToSave, String taskType,
                              Tokenizer tokenizer, ModelFiles.Metadata metadata) throws IOException {
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        lora.toHost().forEach((name, t) -> tensors.put(PREFIX + name, t));
        modulesToSave.forEach((name, t) -> tensors.put(PREFIX + name, t));
        Path temporary = AtomicFiles.temporaryFolderFor(folder);
        try {
            ObjectNode json = adapterConfigJson(lora, config, modulesToSave.isEmpty() ? null : List.of("score_head"), taskType);
            AtomicFiles.writeString(temporary.resolve(CONFIG_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n");
            SafeTensors.write(temporary.resolve(WEIGHTS_FILE), tensors,
                    Map.of("format", "pt", DROPOUT_DRAWS, String.valueOf(lora.dropoutDraws())));
            if (tokenizer != null) tokenizer.save(temporary);
            AtomicFiles.writeString(temporary.resolve(ModelFiles.KIT_METADATA),
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(ModelFiles.metadataJson(metadata)) + "\n");
            AtomicFiles.replaceFolder(temporary, folder);
        } finally {
            AtomicFiles.deleteRecursively(temporary);
        }
    }

    /** PEFT's LoraConfig keys, sorted as PEFT's {@code save_pretrained} writes them. */
    private static ObjectNode adapterConfigJson(Lora lora, ModelConfig config, List<String> modulesToSave, String taskType) {
        LoraConfig c = lora.config();
        ObjectNode n = JSON.createObjectNode();
        n.putObject("alpha_pattern");
        n.put("base_model_name_or_path", lora.baseModelNameOrPath());
        n.put("bias", "none");
        n.put("fan_in_fan_out", config.isGpt2());
        n.put("inference_mode", true);
        n.put("init_lora_weights", true);
        n.putNull("layers_pattern");
        n.putNull("layers_to_transform");
        if (c.alpha() == Math.rint(c.alpha())) n.put("lora_alpha", (long) c.alpha()); else n.put("lora_alpha", c.alpha());
        n.put("lora_dropout", c.dropout());
        if (modulesToSave == null) n.putNull("modules_to_save"); else modulesToSave.forEach(n.putArray("modules_to_save")::add);
        n.put("peft_type", "LORA");
        n.put("r", c.rank());
        n.putObject("rank_pattern");
        n.putNull("revision");
        ArrayNode targets = n.putArray("target_modules");
        lora.targets().forEach(targets::add);
        if (taskType == null) n.putNull("task_type"); else n.put("task_type", taskType);
        n.put("use_dora", false);
        n.put("use_rslora", false);
        return n;
    }

    // ---- reading --------------------------------------------------------------------------------------------------

    /** Reads {@code adapter_config.json}, refusing what this kit cannot apply (DoRA, trained biases, per-layer ranks). */
    public static AdapterConfig readConfig(Path folder) throws IOException {
        Path file = AtomicFiles.existingFolder(folder).resolve(CONFIG_FILE);
        JsonNode n;
        try {
            n = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (!n.path("peft_type").asText("").equals("LORA")) {
            throw new IOException(file + ": field 'peft_type': " + n.path("peft_type") + " is not supported (only LORA)");
        }
        if (!n.path("r").canConvertToInt() || n.path("r").asInt() < 1) throw new IOException(file + ": field 'r': expected an integer >= 1");
        if (n.path("use_dora").asBoolean(false)) throw new IOException(file + ": field 'use_dora': DoRA adapters are not supported");
        if (!n.path("bias").asText("none").equals("none")) {
            throw new IOException(file + ": field 'bias': " + n.get("bias") + " is not supported (only \"none\")");
        }
        for (String key : List.of("rank_pattern", "alpha_pattern")) {
            if (n.path(key).size() > 0) throw new IOException(file + ": field '" + key + "': per-module ranks/alphas are not supported");
        }
        List<String> targets = new ArrayList<>(), modulesToSave = new ArrayList<>();
        JsonNode t = n.path("target_modules");
        if (t.isArray()) t.forEach(x -> targets.add(x.asText()));
        else if (t.isTextual()) targets.add(t.asText());
        n.path("modules_to_save").forEach(x -> modulesToSave.add(x.asText()));
        return new AdapterConfig(n.get("r").asInt(), n.path("lora_alpha").asDouble(8), n.path("lora_dropout").asDouble(0),
                targets, n.path("base_model_name_or_path").asText(""), n.path("fan_in_fan_out").asBoolean(false), modulesToSave,
                n.path("task_type").isNull() ? null : n.path("task_type").asText(null), n.path("use_rslora").asBoolean(false));
    }

    /** The full model an adapter folder stands for: the base's architecture and the merged weights. */
    record Merged(ModelConfig config, Map<String, HostTensor> weights) {}

    /**
     * Reads the base (recursively, when it is itself an adapter folder) and merges this folder's adapters and saved
     * modules into its weights, on the host.
     *
     * @param base the base model folder, or null for the folder's {@code base_model_name_or_path}
     */
    static Merged merged(Path folder, Path base) throws IOException {
        return merged(AtomicFiles.existingFolder(folder), base, 0);
    }

    private static Merged merged(Path folder, Path base, int depth) throws IOException {
        if (depth > MAX_DEPTH) throw new IOException(folder + ": more than " + MAX_DEPTH + " adapter folders stacked (a cycle?)");
        AdapterConfig config = readConfig(folder);
        Path baseFolder = base != null ? base : baseFolder(folder, config);
        Merged below;
        if (isAdapterFolder(baseFolder)) {
            below = merged(AtomicFiles.existingFolder(baseFolder), null, depth + 1);
        } else {
            Path dir = AtomicFiles.existingFolder(baseFolder);
            if (!Files.isRegularFile(dir.resolve("config.json"))) {
                throw new IOException(folder.resolve(CONFIG_FILE) + ": base model " + dir + " is not a model folder (no config.json)");
            }
            below = new Merged(ModelConfig.read(dir.resolve("config.json")), ModelFiles.readWeights(dir));
        }
        Path weightsFile = folder.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(weightsFile)) throw new IOException(folder + ": no " + WEIGHTS_FILE);
        try {
            mergeInto(below.weights(), below.config(), SafeTensors.open(weightsFile).readAll(), config);
        } catch (IllegalArgumentException e) {
            throw new IOException(weightsFile + ": " + e.getMessage(), e);
        }
        return below;
    }

    /** The base folder named by {@code base_model_name_or_path}, resolved as the kit resolves paths. */
    static Path baseFolder(Path folder, AdapterConfig config) throws IOException {
        String name = config.baseModelNameOrPath();
        if (name == null || name.isBlank()) {
            throw new IOException(folder.resolve(CONFIG_FILE) + ": field 'base_model_name_or_path' is empty: give the base model folder");
        }
        Path resolved = KitPaths.resolve(name);
        if (!Files.isDirectory(AtomicFiles.existingFolder(resolved))) {
            throw new IOException(folder.resolve(CONFIG_FILE) + ": field 'base_model_name_or_path': '" + name + "' is not a folder here ("
                    + resolved + "); download the base model and give its folder (saferlhf lora merge --base DIR)");
        }
        return resolved;
    }

    /**
     * Adds each adapter's {@code (alpha / r) B A} to its base weight, in place, and replaces saved modules:
     * <pre>
     * nn.Linear (LLaMA family), W (out, in):  W += s * B A
     * Conv1D (GPT-2),           W (in, out):  W += s * (B A)^T       (PEFT: transpose(B @ A, fan_in_fan_out))
     * </pre>
     * The products are summed in double precision and rounded once.
     *
     * @param adapterTensors PEFT-named tensors of {@code adapter_model.safetensors}
     */
    static void mergeInto(Map<String, HostTensor> weights, ModelConfig model, Map<String, HostTensor> adapterTensors,
                          AdapterConfig config) {
        Map<String, long[]> projections = Lora.projections(model);
        double scaling = config.scaling();
        List<String> unknown = new ArrayList<>();
        for (Map.Entry<String, HostTensor> e : adapterTensors.entrySet()) {
            String key = e.getKey();
            if (!key.startsWith(PREFIX)) {
                unknown.add(key);
                continue;
            }
            String name = key.substring(PREFIX.length());
            if (name.endsWith(".lora_B.weight")) continue; // merged with its lora_A
            if (name.endsWith(".lora_A.weight")) {
                String module = name.substring(0, name.length() - ".lora_A.weight".length());
                if (!projections.containsKey(module)) {
                    throw new IllegalArgumentException("adapter on '" + module + "', which is not a projection of this "
                            + model.modelType() + " model (embedding and LM-head adapters are not supported)");
                }
                HostTensor a = e.getValue(), b = adapterTensors.get(PREFIX + module + ".lora_B.weight");
                if (b == null) throw new IllegalArgumentException(key + " has no lora_B");
                String baseName = baseWeightName(weights, module + ".weight");
                HostTensor w = weights.get(baseName);
                mergeOne(w, a, b, model.isGpt2(), scaling, module);
                weights.put(baseName, w); // a lazy map (ModelFiles.readWeights) reads anew on every get: keep the merged values
            } else if (config.modulesToSave().stream().anyMatch(m -> name.startsWith(m + "."))) {
                weights.put(name, e.getValue());
            } else {
                unknown.add(key);
            }
        }
        if (!unknown.isEmpty()) throw new IllegalArgumentException("tensors this kit cannot apply: " + unknown);
    }

    /** The name of the base tensor {@code name}; GPT-2 hub checkpoints may name it without {@code transformer.}. */
    private static String baseWeightName(Map<String, HostTensor> weights, String name) {
        if (weights.containsKey(name)) return name;
        if (name.startsWith("transformer.") && weights.containsKey(name.substring("transformer.".length()))) {
            return name.substring("transformer.".length());
        }
        throw new IllegalArgumentException("the base model has no " + name);
    }

    private static void mergeOne(HostTensor w, HostTensor a, HostTensor b, boolean conv1d, double scaling, String module) {
        int r = (int) a.shape()[0], in = (int) a.shape()[1], out = (int) b.shape()[0];
        long[] expected = conv1d ? new long[] {in, out} : new long[] {out, in};
        if (a.shape().length != 2 || b.shape().length != 2 || b.shape()[1] != r || !java.util.Arrays.equals(w.shape(), expected)) {
            throw new IllegalArgumentException(module + ": lora_A " + java.util.Arrays.toString(a.shape()) + " and lora_B "
                    + java.util.Arrays.toString(b.shape()) + " do not fit the weight " + java.util.Arrays.toString(w.shape()));
        }
        float[] wd = w.data(), ad = a.data(), bd = b.data();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double sum = 0;
                for (int k = 0; k < r; k++) sum += (double) bd[o * r + k] * ad[k * in + i];   // (B A)[o, i]
                int index = conv1d ? i * out + o : o * in + i;
                wd[index] = (float) (wd[index] + scaling * sum);
            }
        }
    }

    /**
     * Merges an adapter folder into a full model folder ({@code saferlhf lora merge}): the base with {@code W + (alpha
     * / r) B A} in every adapted weight (and a score model's saved head), written as a normal model folder that loads
     * everywhere the kit (or {@code transformers}) loads models. The tokenizer is the adapter folder's, else the base's.
     *
     * @param base the base model folder, or null for {@code base_model_name_or_path}
     * @return what was written: {@code causal-lm} or the score model's type
     */
    public static String merge(Path adapter, Path base, Path out, ai.djl.Device device) throws IOException {
        Path dir = AtomicFiles.existingFolder(adapter);
        if (!isAdapterFolder(dir)) throw new IOException(adapter + ": not an adapter folder (no " + CONFIG_FILE + ")");
        Path baseDir = base != null ? base : baseFolder(dir, readConfig(dir));
        Path tokenizerFolder = Files.isRegularFile(dir.resolve("tokenizer.json")) ? dir
                : Files.isRegularFile(AtomicFiles.existingFolder(baseDir).resolve("tokenizer.json")) ? AtomicFiles.existingFolder(baseDir) : null;
        try (Tokenizer tokenizer = tokenizerFolder == null ? null : Tokenizer.load(tokenizerFolder)) {
            if (ModelFiles.metadata(dir).scoreType() != null) {
                try (ScoreModel model = ModelFiles.loadScoreModel(dir, base, device)) {
                    ModelFiles.save(model, tokenizer, out);
                    return model.scoreType().name().toLowerCase();
                }
            }
            try (CausalLM model = ModelFiles.loadCausalLM(dir, base, device)) {
                ModelFiles.save(model, tokenizer, out);
                return "causal-lm";
            }
        }
    }

    // ---- resume ---------------------------------------------------------------------------------------------------

    /** Copies an adapter folder's tensors into a causal LM's live adapters (resume). */
    static void restore(CausalLM model, Path folder) throws IOException {
        restore(model.lora(), Map.of(), folder);
    }

    /** Copies an adapter folder's tensors into a score model's live adapters and its head (resume). */
    static void restore(ScoreModel model, Path folder) throws IOException {
        restore(model.lora(), model.head(), folder);
    }

    private static void restore(Lora lora, Map<String, ai.djl.ndarray.NDArray> head, Path folder) throws IOException {
        Path file = AtomicFiles.existingFolder(folder).resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) throw new IOException(folder + ": no " + WEIGHTS_FILE + " to resume the adapters from");
        SafeTensors tensors = SafeTensors.open(file);
        Map<String, HostTensor> byName = new LinkedHashMap<>();
        tensors.readAll().forEach((key, t) -> byName.put(key.startsWith(PREFIX) ? key.substring(PREFIX.length()) : key, t));
        try {
            lora.load(byName, Long.parseLong(tensors.metadata().getOrDefault(DROPOUT_DRAWS, "0")));
            for (Map.Entry<String, ai.djl.ndarray.NDArray> e : head.entrySet()) {
                HostTensor t = byName.get(e.getKey());
                if (t == null || !java.util.Arrays.equals(t.shape(), e.getValue().getShape().getShape())) {
                    throw new IllegalArgumentException("missing or misshapen " + PREFIX + e.getKey());
                }
                e.getValue().set(t.data());
            }
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }
}
