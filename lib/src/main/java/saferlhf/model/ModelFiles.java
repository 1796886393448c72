package saferlhf.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import saferlhf.util.AtomicFiles;
import saferlhf.util.InputError;
import saferlhf.util.JsonFiles;

/**
 * Model folders in the Hugging Face layout: {@code config.json}, {@code model.safetensors} (float32),
 * {@code tokenizer.json} + {@code tokenizer_config.json}, and the kit's own {@code saferlhf.json} (what the folder
 * holds: a causal LM or a score model with its score type and normalizer statistics).
 *
 * <p>Saving is atomic: the folder is written under a temporary name next to the target and swapped in with
 * {@link AtomicFiles#replaceFolder}, so an interrupted save never leaves a half-written model that loads, and the
 * previous model stays loadable. Loading accepts folders written by other programs: a single
 * {@code model.safetensors} or shards listed in {@code model.safetensors.index.json}, F32/F16/BF16 (converted to F32
 * before anything reaches DJL), GPT-2 names with or without the {@code transformer.} prefix.
 */
public final class ModelFiles {
    private ModelFiles() {}

    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String KIT_METADATA = "saferlhf.json";

    /** What a model folder holds, from its {@code saferlhf.json} (absent in folders written by other programs). */
    public record Metadata(String kind, ScoreType scoreType, Normalizer.Type normalizerType, double momentum, double mean,
                           double var, long count, boolean normalize) {
        public static Metadata causalLm() {
            return new Metadata("causal-lm", null, null, 0, 0, 1, 0, false);
        }

        public static Metadata of(ScoreModel model) {
            Normalizer n = model.normalizer();
            return new Metadata("score-model", model.scoreType(), n.type(), n.momentum(), n.mean(), n.var(), n.count(),
                    model.normalizing());
        }
    }

    /**
     * Saves a causal LM and its tokenizer to {@code folder} (atomically, replacing an older model there); a model with
     * adapters is saved as a PEFT adapter folder (its adapters only, see {@link PeftFiles}).
     */
    public static void save(CausalLM model, Tokenizer tokenizer, Path folder) throws IOException {
        if (model.lora() != null) {
            PeftFiles.save(model, tokenizer, folder);
            return;
        }
        write(folder, model.config(), LazyTensors.of(model.namedParameters()), tokenizer, Metadata.causalLm()); // one tensor at a time
    }

    /**
     * Saves a score model (reward, cost or critic) with its normalizer statistics; with adapters, as a PEFT adapter
     * folder holding the adapters and the score head.
     */
    public static void save(ScoreModel model, Tokenizer tokenizer, Path folder) throws IOException {
        if (model.lora() != null) {
            PeftFiles.save(model, tokenizer, folder);
            return;
        }
        write(folder, model.config(), LazyTensors.of(model.namedParameters()), tokenizer, Metadata.of(model)); // one tensor at a time
    }

    private static void write(Path folder, ModelConfig config, Map<String, HostTensor> weights, Tokenizer tokenizer,
                              Metadata metadata) throws IOException {
        Path temporary = AtomicFiles.temporaryFolderFor(folder);
        try {
            config.write(temporary);
            SafeTensors.write(temporary.resolve("model.safetensors"), weights, Map.of("format", "pt"));
            if (tokenizer != null) tokenizer.save(temporary);
            AtomicFiles.writeString(temporary.resolve(KIT_METADATA),
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(metadataJson(metadata)) + "\n");
            AtomicFiles.replaceFolder(temporary, folder);
        } finally {
            AtomicFiles.deleteRecursively(temporary);
        }
    }

    static ObjectNode metadataJson(Metadata m) {
        ObjectNode node = JSON.createObjectNode();
        node.put("kind", m.kind());
        if (m.scoreType() != null) {
            node.put("score_type", m.scoreType().name().toLowerCase());
            if (m.scoreType() == ScoreType.COST) node.put("sign_convention", "cost > 0 means unsafe, cost <= 0 means safe");
            node.put("normalizer_type", m.normalizerType().name());
            node.put("normalizer_momentum", m.momentum());
            node.put("mean", m.mean());
            node.put("var", m.var());
            node.put("count", m.count());
            node.put("do_normalize", m.normalize());
        }
        return node;
    }

    /**
     * The architecture of a model folder, or of an adapter folder's base (its {@code base_model_name_or_path}, followed
     * through stacked adapter folders), without reading any weights.
     */
    public static ModelConfig readConfig(Path folder) throws IOException {
        List<Path> chain = PeftFiles.chain(folder, null);
        return ModelConfig.read(chain.get(chain.size() - 1).resolve("config.json"));
    }

    /**
     * Checks a model or adapter folder without loading any tensor, so that a broken one is named before a stage reads
     * its data or loads other models: its architecture ({@link #readConfig}) and the headers of its safetensors files
     * (an adapter folder's: its adapters'), whose tensor offsets must fit the files (a truncated file fails here).
     *
     * @return the architecture
     */
    public static ModelConfig check(Path folder) throws IOException {
        ModelConfig config = readConfig(folder);
        readWeights(PeftFiles.isAdapterFolder(folder) ? folder : requireModelFolder(folder)); // opens and validates, reads no tensor
        return config;
    }

    /** Whether a finished model (or adapter) folder is there: saves are atomic, so its weights file means the whole folder. */
    public static boolean isComplete(Path folder) {
        return Files.isRegularFile(folder.resolve("model.safetensors")) || Files.isRegularFile(folder.resolve(PeftFiles.WEIGHTS_FILE));
    }

    /** The folder's kit metadata; a causal LM when there is no {@code saferlhf.json}. */
    public static Metadata metadata(Path folder) throws IOException {
        Path file = AtomicFiles.existingFolder(folder).resolve(KIT_METADATA);
        if (!Files.isRegularFile(file)) return Metadata.causalLm();
        JsonNode n = JsonFiles.readObject(file);
        if (!n.has("score_type")) return Metadata.causalLm();
        try {
            return new Metadata(n.path("kind").asText(), ScoreType.valueOf(n.get("score_type").asText().toUpperCase()),
                    Normalizer.Type.valueOf(n.path("normalizer_type").asText("IDENTITY")), n.path("normalizer_momentum").asDouble(0.9),
                    n.path("mean").asDouble(0),
                    n.path("var").asDouble(1), n.path("count").asLong(0), n.path("do_normalize").asBoolean(false));
        } catch (IllegalArgumentException e) { // an unknown score or normalizer type
            throw new InputError(file, e.getMessage(), e);
        }
    }

    /**
     * Loads a causal LM from a model folder (this kit's or a Hugging Face GPT-2 / Llama / Qwen2 / Mistral one), or from
     * a PEFT adapter folder: its base with the adapters merged in ({@link PeftFiles}).
     */
    public static CausalLM loadCausalLM(Path folder, ai.djl.Device device) throws IOException {
        return loadCausalLM(folder, null, device);
    }

    /** As {@link #loadCausalLM(Path, ai.djl.Device)}, with the base of an adapter folder given ({@code null}: its own). */
    public static CausalLM loadCausalLM(Path folder, Path adapterBase, ai.djl.Device device) throws IOException {
        if (PeftFiles.isAdapterFolder(folder)) {
            PeftFiles.Merged merged = PeftFiles.merged(folder, adapterBase); // merged as each weight is read
            return load(CausalLM.uninitialised(merged.config(), device), merged.weights(), folder);
        }
        Path dir = requireModelFolder(folder);
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        Map<String, HostTensor> weights = readWeights(dir); // opens and checks the files before any memory is taken
        return load(CausalLM.uninitialised(config, device), weights, dir);
    }

    private static CausalLM load(CausalLM model, Map<String, HostTensor> weights, Path dir) {
        try {
            model.loadNamedParameters(weights);
            return model;
        } catch (InputError e) { // it names the file at fault
            model.close();
            throw e;
        } catch (IllegalArgumentException e) { // missing weights, wrong shapes
            model.close();
            throw new InputError(dir, e.getMessage(), e);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * Loads a score model saved by {@link #save(ScoreModel, Tokenizer, Path)}, with its normalizer statistics (an
     * adapter folder: its base with the adapters merged in and its own score head).
     */
    public static ScoreModel loadScoreModel(Path folder, ai.djl.Device device) throws IOException {
        return loadScoreModel(folder, null, device);
    }

    /** As {@link #loadScoreModel(Path, ai.djl.Device)}, with the base of an adapter folder given ({@code null}: its own). */
    public static ScoreModel loadScoreModel(Path folder, Path adapterBase, ai.djl.Device device) throws IOException {
        boolean adapters = PeftFiles.isAdapterFolder(folder);
        Path dir = adapters ? AtomicFiles.existingFolder(folder) : requireModelFolder(folder);
        Metadata metadata = metadata(dir);
        if (metadata.scoreType() == null) {
            throw new InputError(dir, "holds a causal language model, not a score model "
                    + "(use ScoreModel.fromCausalLM to start one from it)");
        }
        PeftFiles.Merged merged = adapters ? PeftFiles.merged(dir, adapterBase) : null;
        ModelConfig config = adapters ? merged.config() : ModelConfig.read(dir.resolve("config.json"));
        ScoreModel model = ScoreModel.uninitialised(config, metadata.scoreType(), device);
        try {
            model.loadNamedParameters(adapters ? merged.weights() : readWeights(dir));
            model.useNormalizer(metadata.normalizerType(), metadata.momentum());
            model.normalizer().setStatistics(metadata.mean(), metadata.var(), metadata.count());
            model.setNormalize(metadata.normalize());
            return model;
        } catch (InputError | IOException e) { // they name the file at fault
            model.close();
            throw e;
        } catch (IllegalArgumentException e) { // missing weights, wrong shapes
            model.close();
            throw new InputError(dir, e.getMessage(), e);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * Copies the weights a training checkpoint saved in {@code folder} back into a live model (resume): the adapters
     * alone when the model has adapters (the folder is then an adapter folder), else every parameter.
     */
    public static void restore(CausalLM model, Path folder) throws IOException {
        if (model.lora() != null) PeftFiles.restore(model, folder);
        else restored(folder, () -> model.loadNamedParameters(readWeights(folder)));
    }

    /** As {@link #restore(CausalLM, Path)} for a score model (adapters and score head, or every parameter). */
    public static void restore(ScoreModel model, Path folder) throws IOException {
        if (model.lora() != null) PeftFiles.restore(model, folder);
        else restored(folder, () -> model.loadNamedParameters(readWeights(folder)));
    }

    private interface Load { void run() throws IOException; }

    /** Missing weights or wrong shapes in a checkpoint (damaged, or another run's) are an {@link InputError} naming it. */
    private static void restored(Path folder, Load load) throws IOException {
        try {
            load.run();
        } catch (InputError e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new InputError(folder, "cannot resume from this checkpoint: " + e.getMessage(), e);
        }
    }

    /**
     * Every float tensor of the folder's safetensors file(s) (an adapter folder's: the adapters), converted to float32
     * when read: the map reads a tensor from the (mapped) files each time it is asked for one and keeps nothing, so
     * loading holds one tensor at a time.
     */
    public static Map<String, HostTensor> readWeights(Path folder) throws IOException {
        return lazyWeights(folder);
    }

    /** As {@link #readWeights}, typed as what it is. */
    static LazyTensors lazyWeights(Path folder) throws IOException {
        Path dir = AtomicFiles.existingFolder(folder);
        List<SafeTensors> files = new java.util.ArrayList<>();
        for (Path file : safetensorsFiles(dir)) files.add(SafeTensors.open(file));
        return LazyTensors.of(files);
    }

    private static List<Path> safetensorsFiles(Path dir) throws IOException {
        Path single = dir.resolve("model.safetensors");
        if (Files.isRegularFile(single)) return List.of(single);
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) {
            java.util.TreeSet<String> shards = new java.util.TreeSet<>();
            JsonFiles.readObject(index).path("weight_map").forEach(shard -> shards.add(shard.asText()));
            return shards.stream().map(dir::resolve).toList();
        }
        Path adapters = dir.resolve(PeftFiles.WEIGHTS_FILE);
        if (Files.isRegularFile(adapters)) return List.of(adapters);
        throw new InputError(dir, "no model.safetensors or model.safetensors.index.json (PyTorch .bin checkpoints "
                + "are not read: convert them to safetensors)");
    }

    /**
     * The folder to load a model from ({@code folder}, or the copy an interrupted save left); an {@link InputError} when
     * it is missing, is a file, or holds no {@code config.json}.
     */
    public static Path requireModelFolder(Path folder) {
        Path dir = AtomicFiles.existingFolder(folder);
        if (!Files.exists(dir)) throw new InputError(folder, "no such model folder");
        if (!Files.isDirectory(dir)) throw new InputError(folder, "not a model folder (a file; a model folder holds config.json and model.safetensors)");
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new InputError(folder, "not a model folder (no config.json) and not a LoRA adapter folder (no "
                    + PeftFiles.CONFIG_FILE + ")");
        }
        return dir;
    }

    /** Whether {@code folder} (or the copy an interrupted save left) holds a model ({@code config.json}) or LoRA adapters. */
    public static boolean isModelOrAdapterFolder(Path folder) {
        Path dir = AtomicFiles.existingFolder(folder);
        return Files.isRegularFile(dir.resolve("config.json")) || PeftFiles.isAdapterFolder(dir);
    }

    /**
     * The folder to load a model from: a model folder, or a LoRA adapter folder whose bases (followed through stacked
     * adapter folders, reading configuration files only) end in a model folder; an {@link InputError} naming the folder
     * at fault otherwise.
     */
    public static Path requireModelOrAdapterFolder(Path folder) throws IOException {
        return PeftFiles.chain(folder, null).get(0);
    }

    /**
     * The folder whose {@code tokenizer.json} goes with the model in {@code folder}: the folder itself, or, for an adapter
     * folder without one (as PEFT saves them), the nearest of its bases that has one (adapters do not change the
     * vocabulary). {@code folder} itself when none has one, so that loading the tokenizer names it.
     */
    public static Path tokenizerFolder(Path folder) throws IOException {
        Path found = PeftFiles.tokenizerFolder(PeftFiles.chain(folder, null));
        return found != null ? found : AtomicFiles.existingFolder(folder);
    }
}
