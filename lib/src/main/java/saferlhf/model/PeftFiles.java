package saferlhf.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import saferlhf.KitPaths;
import saferlhf.util.AtomicFiles;
import saferlhf.util.InputError;

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

    /** The full model an adapter folder stands for: the base's architecture and its weights, merged as they are read. */
    record Merged(ModelConfig config, LazyTensors weights) {}

    /**
     * The base's weights (the model folder at the bottom of the chain, {@link #chain}) with every adapter folder's
     * adapters and saved modules merged in as each weight is read: nothing is read here, and loading the result reads
     * and holds one tensor at a time, as loading a model folder does.
     *
     * @param base the base model folder, or null for the folder's {@code base_model_name_or_path}
     */
    static Merged merged(Path folder, Path base) throws IOException {
        List<Path> chain = chain(folder, base);
        Path model = chain.get(chain.size() - 1);
        ModelConfig config = ModelConfig.read(model.resolve("config.json"));
        LazyTensors weights = ModelFiles.lazyWeights(model);
        for (int i = chain.size() - 2; i >= 0; i--) {             // the lowest adapters first
            Path adapter = chain.get(i), file = adapter.resolve(WEIGHTS_FILE);
            if (!Files.isRegularFile(file)) throw new InputError(adapter, "no " + WEIGHTS_FILE);
            AdapterConfig adapterConfig = readConfig(adapter);
            try {
                mergeInto(weights, config, LazyTensors.of(List.of(SafeTensors.open(file))), adapterConfig);
            } catch (InputError e) {
                throw e;
            } catch (IllegalArgumentException e) {
                throw new InputError(file, e.getMessage(), e);
            }
        }
        return new Merged(config, weights);
    }

    /**
     * The folders a model folder or an adapter folder stands for, from {@code folder} down to the model folder at the
     * bottom: {@code [folder]} for a model folder; for an adapter folder, itself, its base ({@code base}, or its {@code
     * base_model_name_or_path}), that base's base when it is an adapter folder too, and so on. Only configuration files
     * are read. The one place that walks stacked adapter folders.
     *
     * @throws InputError when a folder is missing, the bottom one holds no {@code config.json}, or more than
     *                    {@value #MAX_DEPTH} adapter folders are stacked
     */
    static List<Path> chain(Path folder, Path base) throws IOException {
        List<Path> chain = new ArrayList<>();
        Path dir = AtomicFiles.existingFolder(folder);
        while (isAdapterFolder(dir)) {
            if (chain.size() == MAX_DEPTH) throw new InputError(folder, "more than " + MAX_DEPTH + " adapter folders stacked (a cycle?)");
            chain.add(dir);
            Path below = chain.size() == 1 && base != null ? base : baseFolder(dir, readConfig(dir));
            Path above = dir;
            dir = AtomicFiles.existingFolder(below);
            if (!Files.isDirectory(dir)) throw new InputError(below, "no such base model folder");
            if (!isAdapterFolder(dir) && !Files.isRegularFile(dir.resolve("config.json"))) {
                throw new InputError(above.resolve(CONFIG_FILE), "base model " + dir + " is not a model folder (no config.json) "
                        + "and not an adapter folder (no " + CONFIG_FILE + ")");
            }
        }
        chain.add(chain.isEmpty() ? ModelFiles.requireModelFolder(folder) : dir);
        return chain;
    }

    /** The first folder of a {@link #chain} that holds a {@code tokenizer.json}, or null. */
    static Path tokenizerFolder(List<Path> chain) {
        return chain.stream().filter(f -> Files.isRegularFile(f.resolve("tokenizer.json"))).findFirst().orElse(null);
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
     * Makes each adapter's {@code (alpha / r) B A} be added to its base weight whenever that weight is read ({@link
     * LazyTensors#transform}), and saved modules replace theirs; only shapes are checked now:
     * <pre>
     * nn.Linear (LLaMA family), W (out, in):  W += s * B A
     * Conv1D (GPT-2),           W (in, out):  W += s * (B A)^T       (PEFT: transpose(B @ A, fan_in_fan_out))
     * </pre>
     * A and B are read (from the adapter file) each time their weight is; they are small (r x (in + out)).
     *
     * @param adapters PEFT-named tensors of {@code adapter_model.safetensors}
     * @throws IllegalArgumentException for a tensor this kit cannot apply or a lora_A / lora_B that does not fit its weight
     */
    static void mergeInto(LazyTensors weights, ModelConfig model, LazyTensors adapters, AdapterConfig config) {
        Map<String, long[]> projections = Lora.projections(model);
        boolean conv1d = model.isGpt2();
        double scaling = config.scaling();
        List<String> unknown = new ArrayList<>();
        for (String key : adapters.keySet()) {
            if (!key.startsWith(PREFIX)) {
                unknown.add(key);
                continue;
            }
            String name = key.substring(PREFIX.length());
            if (name.endsWith(".lora_B.weight")) {
                String module = name.substring(0, name.length() - ".lora_B.weight".length());
                if (!adapters.containsKey(PREFIX + module + ".lora_A.weight")) throw new IllegalArgumentException(key + " has no lora_A");
                continue; // merged with its lora_A
            }
            if (name.endsWith(".lora_A.weight")) {
                String module = name.substring(0, name.length() - ".lora_A.weight".length());
                if (!projections.containsKey(module)) {
                    throw new IllegalArgumentException("adapter on '" + module + "', which is not a projection of this "
                            + model.modelType() + " model (embedding and LM-head adapters are not supported)");
                }
                String bKey = PREFIX + module + ".lora_B.weight";
                if (!adapters.containsKey(bKey)) throw new IllegalArgumentException(key + " has no lora_B");
                String baseName = baseWeightName(weights, module + ".weight");
                long[] a = adapters.shape(key), b = adapters.shape(bKey), w = weights.shape(baseName);
                if (a.length != 2 || b.length != 2 || b[1] != a[0]
                        || !Arrays.equals(w, conv1d ? new long[] {a[1], b[0]} : new long[] {b[0], a[1]})) {
                    throw new IllegalArgumentException(module + ": lora_A " + Arrays.toString(a) + " and lora_B "
                            + Arrays.toString(b) + " do not fit the weight " + Arrays.toString(w));
                }
                int r = (int) a[0], in = (int) a[1], out = (int) b[0];
                weights.transform(baseName, values -> addScaledProduct(values, adapters.get(key).data(), adapters.get(bKey).data(),
                        r, in, out, conv1d, scaling));
            } else if (config.modulesToSave().stream().anyMatch(m -> name.startsWith(m + "."))) {
                weights.replace(name, adapters, key);
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

    /**
     * {@code W += s * B A} ({@code (B A)^T} for Conv1D), in place; the products are summed in double precision and
     * rounded once.
     *
     * @param w (out, in), or (in, out) for Conv1D
     * @param a (r, in)
     * @param b (out, r)
     */
    private static void addScaledProduct(FloatBuffer w, float[] a, float[] b, int r, int in, int out, boolean conv1d, double scaling) {
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double sum = 0;
                for (int k = 0; k < r; k++) sum += (double) b[o * r + k] * a[k * in + i];   // (B A)[o, i]
                int index = conv1d ? i * out + o : o * in + i;
                w.put(index, (float) (w.get(index) + scaling * sum));
            }
        }
    }

    /**
     * Merges an adapter folder into a full model folder ({@code saferlhf lora merge}): the base with {@code W + (alpha
     * / r) B A} in every adapted weight (and a score model's saved head), written as a normal model folder that loads
     * everywhere the kit (or {@code transformers}) loads models. The tokenizer is the adapter folder's, else its nearest
     * base's that has one. The merged model is loaded as any model is (the merge happens as each weight is read) and
     * written one tensor at a time.
     *
     * @param base the base model folder, or null for {@code base_model_name_or_path}
     * @return what was written: {@code causal-lm} or the score model's type
     */
    public static String merge(Path adapter, Path base, Path out, ai.djl.Device device) throws IOException {
        Path dir = AtomicFiles.existingFolder(adapter);
        if (!isAdapterFolder(dir)) throw new IOException(adapter + ": not an adapter folder (no " + CONFIG_FILE + ")");
        Path tokenizerFolder = tokenizerFolder(chain(dir, base));
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
