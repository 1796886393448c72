package saferlhf.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import saferlhf.KitPaths;
import saferlhf.model.CausalLM;
import saferlhf.model.Device;
import saferlhf.model.ModelConfig;
import saferlhf.model.ModelFiles;
import saferlhf.model.PeftFiles;
import saferlhf.model.Tokenizer;

/**
 * Where a stage's model and tokenizer come from. {@code model_name_or_path} is a model folder (this kit's, or a
 * Hugging Face one placed locally), a LoRA adapter folder (loaded as its base with the adapters merged in) or a preset that starts from random weights: {@code preset:tiny-llama},
 * {@code preset:tiny-gpt2}, {@code preset:llama-10m}, {@code preset:llama-113m}. The tokenizer is the {@code tokenizer} key when given, else
 * the model folder's {@code tokenizer.json}, else BeaverWorld's.
 */
public final class Models {
    private Models() {}

    public static final String PRESET_PREFIX = "preset:";
    /** The presets, as error messages list them. */
    static final String PRESETS = "preset:tiny-llama, preset:tiny-gpt2, preset:llama-10m, preset:llama-113m";

    /** The tokenizer for a stage. */
    public static Tokenizer tokenizer(String tokenizer, String modelNameOrPath) throws IOException {
        if (tokenizer != null && !tokenizer.isBlank()) return Tokenizer.load(KitPaths.resolve(tokenizer));
        if (!modelNameOrPath.startsWith(PRESET_PREFIX)) {
            Path folder = KitPaths.resolve(modelNameOrPath);
            if (Files.isRegularFile(folder.resolve("tokenizer.json"))) return Tokenizer.load(folder);
        }
        return Tokenizer.load(KitPaths.beaverWorld().resolve("tokenizer.json"));
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
     * nowhere, and so is a tokenizer with more tokens than the base's embedding, which adapters cannot grow.
     */
    public static CausalLM causalLM(String modelNameOrPath, Tokenizer tokenizer, String device, long seed, boolean frozenBase)
            throws IOException {
        ai.djl.Device target = Device.parse(device);
        if (frozenBase && modelNameOrPath.startsWith(PRESET_PREFIX)) {
            throw new saferlhf.util.InputError("LoRA adapters need a pretrained base model folder, not the preset '" + modelNameOrPath
                    + "' (random weights that no adapter folder could point at): train it first, or set lora_rank=0");
        }
        if (modelNameOrPath.startsWith(PRESET_PREFIX)) {
            return CausalLM.create(preset(modelNameOrPath, tokenizer.vocabSize()), target, seed);
        }
        Path folder = KitPaths.resolve(modelNameOrPath);
        if (!Files.exists(saferlhf.util.AtomicFiles.existingFolder(folder))) {
            throw new saferlhf.util.InputError(folder, "no such model folder, and not a preset (" + PRESETS + ")");
        }
        if (!Files.isRegularFile(saferlhf.util.AtomicFiles.existingFolder(folder).resolve("config.json"))
                && !PeftFiles.isAdapterFolder(folder)) {
            throw new saferlhf.util.InputError(folder, "not a model folder (no config.json), not a LoRA adapter folder "
                    + "(no adapter_config.json) and not a preset (" + PRESETS + ")");
        }
        CausalLM model = ModelFiles.loadCausalLM(folder, target);
        if (tokenizer.vocabSize() > model.config().vocabSize()) {
            if (frozenBase) {
                int rows = model.config().vocabSize();
                model.close();
                throw new IllegalArgumentException("LoRA: the tokenizer has " + tokenizer.vocabSize() + " tokens but the base model "
                        + folder + " embeds " + rows + ", and adapters cannot grow a frozen embedding: use the base model's "
                        + "tokenizer, or fine-tune without adapters (lora_rank=0)");
            }
            model.resizeTokenEmbeddings(tokenizer.vocabSize());
        }
        return model;
    }
}
