package saferlhf.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import saferlhf.KitPaths;
import saferlhf.model.CausalLM;
import saferlhf.model.Device;
import saferlhf.model.Lora;
import saferlhf.model.LoraConfig;
import saferlhf.model.ModelConfig;
import saferlhf.model.ModelFiles;
import saferlhf.model.PeftFiles;
import saferlhf.model.Tokenizer;
import saferlhf.util.AtomicFiles;
import saferlhf.util.InputError;

/**
 * Where a stage's model and tokenizer come from. {@code model_name_or_path} is a model folder (this kit's, or a
 * Hugging Face one placed locally), a LoRA adapter folder (loaded as its base with the adapters merged in) or a preset that starts from random weights: {@code preset:tiny-llama},
 * {@code preset:tiny-gpt2}, {@code preset:llama-10m}, {@code preset:llama-113m}. The tokenizer is the {@code tokenizer} key when given, else
 * the model folder's {@code tokenizer.json} (an adapter folder without one: its base's); BeaverWorld's only for a preset,
 * whose fresh weights are sized to it. A model folder without a {@code tokenizer.json} is refused: its weights were
 * trained with their own tokenizer, and BeaverWorld's in its place would feed them other ids without a word.
 */
public final class Models {
    private Models() {}

    public static final String PRESET_PREFIX = "preset:";
    /** The presets, as error messages list them. */
    static final String PRESETS = "preset:tiny-llama, preset:tiny-gpt2, preset:llama-10m, preset:llama-113m";

    /** The tokenizer for a stage ({@code modelNameOrPath} given by the key {@code model_name_or_path}). */
    public static Tokenizer tokenizer(String tokenizer, String modelNameOrPath) throws IOException {
        return tokenizer(tokenizer, modelNameOrPath, "model_name_or_path");
    }

    /**
     * The tokenizer for a stage: the {@code tokenizer} key's file or folder when given, BeaverWorld's for a preset, else
     * the model folder's ({@link ModelFiles#tokenizerFolder}); an {@link InputError} naming {@code modelKey} and the
     * folder when the folder has none.
     */
    public static Tokenizer tokenizer(String tokenizer, String modelNameOrPath, String modelKey) throws IOException {
        if (tokenizer != null && !tokenizer.isBlank()) return Tokenizer.load(KitPaths.resolve(tokenizer));
        if (modelNameOrPath.startsWith(PRESET_PREFIX)) return Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
        Path folder = requireFolder(modelNameOrPath);
        Path tokenizerFolder = ModelFiles.tokenizerFolder(folder);
        if (!Files.isRegularFile(tokenizerFolder.resolve("tokenizer.json"))) {
            throw new InputError(folder, modelKey + ": no tokenizer.json, the tokenizer these weights were trained with (a "
                    + "folder with only a SentencePiece tokenizer.model needs one: transformers writes it with "
                    + "AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR)); or give the tokenizer key a tokenizer.json");
        }
        return Tokenizer.load(tokenizerFolder);
    }

    /** The architecture of a preset, sized to the tokenizer's vocabulary. */
    public static ModelConfig preset(String name, int vocabSize) {
        return switch (name.substring(PRESET_PREFIX.length())) {
            case "tiny-llama" -> ModelConfig.tinyLlama(vocabSize);
            case "tiny-gpt2" -> ModelConfig.tinyGpt2(vocabSize);
            case "llama-10m" -> ModelConfig.llama10M(vocabSize);
            case "llama-113m" -> ModelConfig.llama113M(vocabSize);
            default -> throw new Configs.ConfigException("unknown model preset '" + name
                    + "' (presets: " + PRESETS + ")", null);
        };
    }

    /** The architecture of a preset (sized to {@code vocabSize}) or of a model or adapter folder, without loading weights. */
    public static ModelConfig architecture(String modelNameOrPath, int vocabSize) throws IOException {
        if (modelNameOrPath.startsWith(PRESET_PREFIX)) return preset(modelNameOrPath, vocabSize);
        return ModelFiles.readConfig(requireFolder(modelNameOrPath));
    }

    /**
     * What a stage checks of its model before it reads data or loads weights, so that a broken folder is named at once:
     * its {@code config.json} and the headers of its weight files ({@link ModelFiles#check}; no tensor is read); and with
     * LoRA adapters on the frozen weights ({@code lora} not null) a pretrained base (a preset's random weights are saved
     * nowhere an adapter folder could point at), target modules that exist in it, and an embedding that holds every id of
     * {@code tokenizer} (adapters cannot grow a frozen embedding).
     *
     * @param key        the key of {@code modelNameOrPath}, named in errors
     * @param loraPrefix the LoRA keys' prefix, named in errors: {@code lora_}, {@code actor_lora_}
     */
    public static void checkBase(String key, String modelNameOrPath, Tokenizer tokenizer, String loraPrefix, LoraConfig lora)
            throws IOException {
        if (lora != null && modelNameOrPath.startsWith(PRESET_PREFIX)) {
            throw new InputError(loraPrefix + "rank: LoRA adapters need a pretrained base model folder, not the preset '"
                    + modelNameOrPath + "' in " + key + " (random weights that no adapter folder could point at): train it "
                    + "first, or set " + loraPrefix + "rank=0");
        }
        ModelConfig base = modelNameOrPath.startsWith(PRESET_PREFIX) ? preset(modelNameOrPath, tokenizer.vocabSize())
                : ModelFiles.check(requireFolder(modelNameOrPath));
        if (lora != null) {
            Lora.requireTargets(loraPrefix + "target_modules", base, lora);
            requireEmbeddingHolds(tokenizer, base.vocabSize(), KitPaths.resolve(modelNameOrPath));
        }
    }

    private static void requireEmbeddingHolds(Tokenizer tokenizer, int rows, Path folder) {
        if (tokenizer.vocabSize() > rows) {
            throw new InputError(folder, "LoRA: the tokenizer (" + tokenizer.describe() + ") has " + tokenizer.vocabSize()
                    + " ids but this base model embeds " + rows + ", and adapters cannot grow a frozen embedding: use the "
                    + "base model's tokenizer, or fine-tune without adapters (lora_rank=0)");
        }
    }

    /**
     * A model or adapter folder (or the copy an interrupted save left): an {@link InputError} when it is missing, or
     * holds neither {@code config.json} nor {@code adapter_config.json}.
     */
    private static Path requireFolder(String modelNameOrPath) {
        Path folder = KitPaths.resolve(modelNameOrPath);
        Path existing = AtomicFiles.existingFolder(folder);
        if (!Files.exists(existing)) {
            throw new InputError(folder, "no such model folder, and not a preset (" + PRESETS + ")");
        }
        if (!ModelFiles.isModelOrAdapterFolder(folder)) {
            throw new InputError(folder, "not a model folder (no config.json), not a LoRA adapter folder "
                    + "(no adapter_config.json) and not a preset (" + PRESETS + ")");
        }
        return folder;
    }

    /**
     * A causal LM: a preset with fresh weights (seeded), or a model folder; embeddings grow when the tokenizer added
     * special tokens the checkpoint lacks (new rows = mean of the old, as the reference does).
     */
    public static CausalLM causalLM(String modelNameOrPath, Tokenizer tokenizer, String device, long seed) throws IOException {
        return causalLM(modelNameOrPath, tokenizer, device, seed, false);
    }

    /**
     * As {@link #causalLM(String, Tokenizer, String, long)}; with {@code frozenBase} (the weights will stay frozen under
     * LoRA adapters, which a saved adapter folder points at) a preset is refused, since its random weights are saved
     * nowhere, and so is a tokenizer with more tokens than the base's embedding, which adapters cannot grow (stages check
     * both before loading, with {@link #checkBase}).
     */
    public static CausalLM causalLM(String modelNameOrPath, Tokenizer tokenizer, String device, long seed, boolean frozenBase)
            throws IOException {
        ai.djl.Device target = Device.parse(device);
        if (frozenBase && modelNameOrPath.startsWith(PRESET_PREFIX)) {
            throw new InputError("LoRA adapters need a pretrained base model folder, not the preset '" + modelNameOrPath
                    + "' (random weights that no adapter folder could point at): train it first, or set lora_rank=0");
        }
        if (modelNameOrPath.startsWith(PRESET_PREFIX)) {
            return CausalLM.create(preset(modelNameOrPath, tokenizer.vocabSize()), target, seed);
        }
        Path folder = requireFolder(modelNameOrPath);
        if (frozenBase) requireEmbeddingHolds(tokenizer, ModelFiles.readConfig(folder).vocabSize(), folder);
        CausalLM model = ModelFiles.loadCausalLM(folder, target);
        if (tokenizer.vocabSize() > model.config().vocabSize()) model.resizeTokenEmbeddings(tokenizer.vocabSize());
        return model;
    }
}
