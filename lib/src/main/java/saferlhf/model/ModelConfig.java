package saferlhf.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import saferlhf.util.AtomicFiles;
import saferlhf.util.InputError;
import saferlhf.util.JsonFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A decoder-only transformer's shape, read from and written to a Hugging Face {@code config.json}.
 * Two families: LLaMA-style ({@code llama}, {@code qwen2}, {@code mistral}: RMSNorm, RoPE, SwiGLU, grouped-query
 * attention, q/k/v bias for qwen2) and {@code gpt2} (LayerNorm, learned positions, gelu_new MLP, tied embeddings).
 *
 * @param modelType          HF model_type: llama, qwen2, mistral or gpt2
 * @param vocabSize          V
 * @param hiddenSize         H (gpt2: n_embd)
 * @param numLayers          (gpt2: n_layer)
 * @param numHeads           (gpt2: n_head)
 * @param numKvHeads         grouped-query attention key/value heads (gpt2: = numHeads)
 * @param intermediateSize   MLP width (gpt2: n_inner, default 4H)
 * @param maxPositions       max_position_embeddings (gpt2: n_positions)
 * @param normEps            rms_norm_eps (gpt2: layer_norm_epsilon)
 * @param ropeTheta          RoPE base (unused by gpt2)
 * @param attentionBias      q/k/v projections carry a bias (qwen2 always; llama's attention_bias also adds o_proj bias in HF,
 *                           which this kit does not support); gpt2 linear layers always carry biases
 * @param tieWordEmbeddings  the LM head reuses the token embedding matrix
 * @param bosTokenId         -1 when unknown
 * @param eosTokenId         -1 when unknown
 * @param padTokenId         -1 when unknown
 */
public record ModelConfig(String modelType, int vocabSize, int hiddenSize, int numLayers, int numHeads, int numKvHeads,
        int intermediateSize, int maxPositions, double normEps, double ropeTheta, boolean attentionBias,
        boolean tieWordEmbeddings, int bosTokenId, int eosTokenId, int padTokenId) {

    public ModelConfig {
        if (!isLlamaFamily(modelType) && !"gpt2".equals(modelType)) {
            throw new IllegalArgumentException("unsupported model_type '" + modelType + "': this kit supports llama, qwen2, mistral, gpt2");
        }
        require(vocabSize > 0, "vocab_size must be > 0, got " + vocabSize);
        require(hiddenSize > 0 && numLayers > 0 && numHeads > 0 && numKvHeads > 0 && intermediateSize > 0 && maxPositions > 0,
                "sizes must be > 0");
        require(hiddenSize % numHeads == 0, "hidden_size " + hiddenSize + " not divisible by num_attention_heads " + numHeads);
        require(numHeads % numKvHeads == 0, "num_attention_heads " + numHeads + " not divisible by num_key_value_heads " + numKvHeads);
        require(!isGpt2(modelType) || numKvHeads == numHeads, "gpt2 has no grouped-query attention");
        require(isGpt2(modelType) || (hiddenSize / numHeads) % 2 == 0, "RoPE needs an even head dim, got " + hiddenSize / numHeads);
        require(normEps > 0, "norm eps must be > 0");
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    static boolean isLlamaFamily(String type) {
        return "llama".equals(type) || "qwen2".equals(type) || "mistral".equals(type);
    }

    private static boolean isGpt2(String type) { return "gpt2".equals(type); }

    public boolean isGpt2() { return isGpt2(modelType); }

    public int headDim() { return hiddenSize / numHeads; }

    public ModelConfig withVocabSize(int newVocabSize) {
        return new ModelConfig(modelType, newVocabSize, hiddenSize, numLayers, numHeads, numKvHeads, intermediateSize,
                maxPositions, normEps, ropeTheta, attentionBias, tieWordEmbeddings, bosTokenId, eosTokenId, padTokenId);
    }

    public ModelConfig withSpecialTokens(int bos, int eos, int pad) {
        return new ModelConfig(modelType, vocabSize, hiddenSize, numLayers, numHeads, numKvHeads, intermediateSize,
                maxPositions, normEps, ropeTheta, attentionBias, tieWordEmbeddings, bos, eos, pad);
    }

    // ---- presets -------------------------------------------------------------------------------------------------

    /** BeaverWorld on 2 CPU cores: H 128, 4 layers, 4 heads, 2 kv heads, MLP 352, 128 positions (about 0.9M + 2VH params). */
    public static ModelConfig tinyLlama(int vocabSize) {
        return new ModelConfig("llama", vocabSize, 128, 4, 4, 2, 352, 128, 1e-6, 10000.0, false, false, 1, 2, 0);
    }

    /** GPT-2 shaped twin of {@link #tinyLlama}: H 128, 4 layers, 4 heads, MLP 512, 128 positions, tied embeddings. */
    public static ModelConfig tinyGpt2(int vocabSize) {
        return new ModelConfig("gpt2", vocabSize, 128, 4, 4, 4, 512, 128, 1e-5, 10000.0, true, true, 1, 2, 0);
    }

    /** About 10M parameters (with a small vocabulary), LLaMA-style, for benchmarks: H 384, 6 layers, 6 heads, 2 kv heads, MLP 1024. */
    public static ModelConfig llama10M(int vocabSize) {
        return new ModelConfig("llama", vocabSize, 384, 6, 6, 2, 1024, 256, 1e-6, 10000.0, false, false, 1, 2, 0);
    }

    /**
     * GPT-2-small size, LLaMA-style, for measuring real runs (environment/size-check.sh, issue 10): H 768, 12 layers, 12
     * heads, 12 kv heads, MLP 3072, 512 positions (RoPE: only a limit); 113,265,408 parameters in the blocks and the final
     * norm, plus 2 x V x 768 in the embedding and the untied LM head (113,661,696 with the 258 ids of the byte-level
     * tokenizer that {@code saferlhf data tokenizer byte-level} writes).
     */
    public static ModelConfig llama113M(int vocabSize) {
        return new ModelConfig("llama", vocabSize, 768, 12, 12, 12, 3072, 512, 1e-6, 10000.0, false, false, 1, 2, 0);
    }

    /** Number of parameters of a model with this config. */
    public long parameterCount() {
        long h = hiddenSize, v = vocabSize, i = intermediateSize, kv = (long) numKvHeads * headDim();
        long total;
        if (isGpt2()) {
            long layer = 2 * 2 * h + (h * 3 * h + 3 * h) + (h * h + h) + (h * i + i) + (i * h + h);
            total = v * h + (long) maxPositions * h + numLayers * layer + 2 * h;
            if (!tieWordEmbeddings) total += v * h;
        } else {
            long attn = h * h + 2 * h * kv + h * h + (attentionBias ? h + 2 * kv : 0);
            long layer = attn + 3 * h * i + 2 * h;
            total = v * h + numLayers * layer + h;
            if (!tieWordEmbeddings) total += v * h;
        }
        return total;
    }

    // ---- config.json ---------------------------------------------------------------------------------------------

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * Reads {@code config.json} (a file, or a folder holding one).
     *
     * @throws InputError naming the file when it is missing, not JSON, lacks a field or describes an unsupported model
     */
    public static ModelConfig read(Path fileOrFolder) throws IOException {
        Path file = Files.isDirectory(fileOrFolder) ? fileOrFolder.resolve("config.json") : fileOrFolder;
        JsonNode json = JsonFiles.readObject(file);
        try {
            return fromJson(json);
        } catch (IllegalArgumentException e) {
            throw new InputError(file, e.getMessage(), e);
        }
    }

    public static ModelConfig fromJson(JsonNode n) {
        String type = n.path("model_type").asText("");
        if (isGpt2(type)) {
            int h = req(n, "n_embd");
            JsonNode inner = n.get("n_inner");
            return new ModelConfig(type, req(n, "vocab_size"), h, req(n, "n_layer"), req(n, "n_head"), req(n, "n_head"),
                    inner == null || inner.isNull() ? 4 * h : inner.asInt(), req(n, "n_positions"),
                    n.path("layer_norm_epsilon").asDouble(1e-5), 10000.0, true, n.path("tie_word_embeddings").asBoolean(true),
                    n.path("bos_token_id").asInt(-1), n.path("eos_token_id").asInt(-1), n.path("pad_token_id").asInt(-1));
        }
        if (!isLlamaFamily(type)) {
            throw new IllegalArgumentException("unsupported model_type '" + type + "': this kit supports llama, qwen2, mistral, gpt2");
        }
        int heads = req(n, "num_attention_heads");
        if (n.path("attention_bias").asBoolean(false)) {
            throw new IllegalArgumentException("llama attention_bias=true (o_proj bias) is not supported by this kit");
        }
        return new ModelConfig(type, req(n, "vocab_size"), req(n, "hidden_size"), req(n, "num_hidden_layers"), heads,
                n.path("num_key_value_heads").asInt(heads), req(n, "intermediate_size"), req(n, "max_position_embeddings"),
                n.path("rms_norm_eps").asDouble(1e-6), n.path("rope_theta").asDouble(10000.0), "qwen2".equals(type),
                n.path("tie_word_embeddings").asBoolean(false), n.path("bos_token_id").asInt(-1),
                n.path("eos_token_id").asInt(-1), n.path("pad_token_id").asInt(-1));
    }

    private static int req(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.canConvertToInt()) throw new IllegalArgumentException("field '" + key + "': missing or not an integer");
        return v.asInt();
    }

    /** The Hugging Face config.json fields for this config. */
    public ObjectNode toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.put("model_type", modelType);
        n.put("vocab_size", vocabSize);
        if (isGpt2()) {
            n.putArray("architectures").add("GPT2LMHeadModel");
            n.put("n_embd", hiddenSize);
            n.put("n_layer", numLayers);
            n.put("n_head", numHeads);
            n.put("n_inner", intermediateSize);
            n.put("n_positions", maxPositions);
            n.put("n_ctx", maxPositions);
            n.put("layer_norm_epsilon", normEps);
            n.put("activation_function", "gelu_new");
        } else {
            String arch = switch (modelType) {
                case "qwen2" -> "Qwen2ForCausalLM";
                case "mistral" -> "MistralForCausalLM";
                default -> "LlamaForCausalLM";
            };
            n.putArray("architectures").add(arch);
            n.put("hidden_size", hiddenSize);
            n.put("num_hidden_layers", numLayers);
            n.put("num_attention_heads", numHeads);
            n.put("num_key_value_heads", numKvHeads);
            n.put("intermediate_size", intermediateSize);
            n.put("max_position_embeddings", maxPositions);
            n.put("rms_norm_eps", normEps);
            n.put("rope_theta", ropeTheta);
            n.put("hidden_act", "silu");
            if (!"qwen2".equals(modelType)) n.put("attention_bias", false);
        }
        n.put("tie_word_embeddings", tieWordEmbeddings);
        if (bosTokenId >= 0) n.put("bos_token_id", bosTokenId);
        if (eosTokenId >= 0) n.put("eos_token_id", eosTokenId);
        if (padTokenId >= 0) n.put("pad_token_id", padTokenId);
        n.put("torch_dtype", "float32");
        return n;
    }

    /** Writes {@code config.json} into {@code folder} atomically. */
    public void write(Path folder) throws IOException {
        Files.createDirectories(folder);
        AtomicFiles.writeString(folder.resolve("config.json"), JSON.writeValueAsString(toJson()) + "\n");
    }
}
