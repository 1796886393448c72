package saferlhf.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class ModelConfigTest {
    @Test
    void readsHuggingFaceConfigsAndRoundTrips(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 896, "num_hidden_layers": 24,
                 "num_attention_heads": 14, "num_key_value_heads": 2, "intermediate_size": 4864,
                 "max_position_embeddings": 32768, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
                 "tie_word_embeddings": true, "eos_token_id": 151643}""");
        ModelConfig q = ModelConfig.read(dir);
        assertEquals(2, q.numKvHeads());
        assertTrue(q.attentionBias(), "qwen2 has q/k/v biases");
        assertTrue(q.tieWordEmbeddings());
        assertEquals(1e6, q.ropeTheta());
        assertEquals(494_032_768L, q.parameterCount()); // Qwen2-0.5B
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "gpt2", "vocab_size": 50257, "n_embd": 768, "n_layer": 12, "n_head": 12, "n_positions": 1024,
                 "layer_norm_epsilon": 1e-05, "n_inner": null}""");
        ModelConfig g = ModelConfig.read(dir);
        assertEquals(3072, g.intermediateSize());
        assertEquals(124_439_808L, g.parameterCount()); // GPT-2 small
        g.write(dir.resolve("out"));
        assertEquals(g, ModelConfig.read(dir.resolve("out")));
        ModelConfig tiny = ModelConfig.tinyLlama(599);
        tiny.write(dir.resolve("tiny"));
        assertEquals(tiny, ModelConfig.read(dir.resolve("tiny")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelConfig.fromJson(new ObjectMapper().readTree("{\"model_type\": \"bloom\"}")));
        assertTrue(e.getMessage().contains("bloom"));
        assertThrows(IllegalArgumentException.class, () -> new ModelConfig("llama", 10, 128, 1, 3, 1, 8, 8, 1e-6, 1e4, false, false, 1, 2, 0));
        long p10 = ModelConfig.llama10M(599).parameterCount();
        assertTrue(p10 > 9_000_000 && p10 < 11_000_000, "llama10M has " + p10);
    }
}
