package saferlhf.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reads the files written by {@code lib/src/test/python/make_parity_fixtures.py} (Python's own safetensors writer and
 * PyTorch's BF16 rounding) and checks them against the manifest the script records.
 */
class SafeTensorsParityFixturesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Path folder(String model) {
        try {
            return Path.of(SafeTensorsParityFixturesTest.class.getResource("/parity/" + model + "/config.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama", "qwen2"})
    void everyFileMatchesTheScriptsManifest(String model) throws IOException {
        Path folder = folder(model);
        JsonNode manifest = JSON.readTree(folder.resolve("manifest.json").toFile());
        List<String> files = new ArrayList<>();
        manifest.fieldNames().forEachRemaining(files::add);
        assertTrue(files.contains("model.safetensors") && files.contains("expected_logits.safetensors"), files.toString());
        for (String file : files) {
            SafeTensors st = SafeTensors.open(folder.resolve(file));
            JsonNode tensors = manifest.get(file);
            List<String> expectedNames = new ArrayList<>();
            tensors.fieldNames().forEachRemaining(expectedNames::add);
            assertEquals(new TreeSet<>(expectedNames), new TreeSet<>(st.names()), file);
            assertEquals("pt", st.metadata().get("format"));
            for (String name : expectedNames) {
                JsonNode expected = tensors.get(name);
                SafeTensors.TensorInfo info = st.info(name);
                String where = file + " " + name;
                assertEquals(expected.get("dtype").asText(), info.dtype().name(), where);
                assertArrayEquals(JSON.convertValue(expected.get("shape"), long[].class), info.shape(), where);
                float[] values = st.readFloats(name);
                double sum = 0, abs = 0;
                for (float v : values) {
                    sum += v;
                    abs += Math.abs(v);
                }
                assertEquals(expected.get("sum").asDouble(), sum, 1e-12 * (1 + abs), where);
                JsonNode first = expected.get("first");
                for (int i = 0; i < first.size(); i++) {
                    assertEquals((float) first.get(i).asDouble(), values[i], 0f, where + " [" + i + "]");
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2/model.safetensors", "qwen2/model.safetensors", "llama/expected_logits.safetensors"})
    void javaWriterReproducesThePythonFileByteForByte(String file, @TempDir Path dir) throws IOException {
        Path original = folder(file.substring(0, file.indexOf('/'))).resolve(file.substring(file.indexOf('/') + 1));
        SafeTensors st = SafeTensors.open(original);
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        for (SafeTensors.TensorInfo t : st.tensors()) tensors.put(t.name(), new HostTensor(st.readFloats(t.name()), t.shape()));
        Path copy = dir.resolve("copy.safetensors");
        SafeTensors.write(copy, tensors, st.metadata());
        assertArrayEquals(Files.readAllBytes(original), Files.readAllBytes(copy));
    }

    @Test
    void shapesFollowTheConfigs() throws IOException {
        JsonNode gpt2 = JSON.readTree(folder("gpt2").resolve("config.json").toFile());
        SafeTensors g = SafeTensors.open(folder("gpt2").resolve("model.safetensors"));
        long c = gpt2.get("n_embd").asLong();
        assertArrayEquals(new long[] {gpt2.get("vocab_size").asLong(), c}, g.info("transformer.wte.weight").shape());
        assertArrayEquals(new long[] {gpt2.get("n_positions").asLong(), c}, g.info("transformer.wpe.weight").shape());
        assertArrayEquals(new long[] {c, 3 * c}, g.info("transformer.h.1.attn.c_attn.weight").shape()); // Conv1D: (in, out)
        assertArrayEquals(new long[] {4 * c, c}, g.info("transformer.h.1.mlp.c_proj.weight").shape());
        assertFalse(g.contains("lm_head.weight"), "tied to wte");
        assertEquals(4 + 12 * gpt2.get("n_layer").asInt(), g.names().size());

        for (String model : List.of("llama", "qwen2")) {
            JsonNode config = JSON.readTree(folder(model).resolve("config.json").toFile());
            SafeTensors st = SafeTensors.open(folder(model).resolve("model.safetensors"));
            long hidden = config.get("hidden_size").asLong();
            long kv = config.get("num_key_value_heads").asLong() * hidden / config.get("num_attention_heads").asLong();
            assertEquals(model, config.get("model_type").asText());
            assertArrayEquals(new long[] {kv, hidden}, st.info("model.layers.1.self_attn.k_proj.weight").shape());
            assertArrayEquals(new long[] {config.get("intermediate_size").asLong(), hidden},
                    st.info("model.layers.0.mlp.gate_proj.weight").shape());
            assertEquals(!config.get("tie_word_embeddings").asBoolean(), st.contains("lm_head.weight"), model);
            assertEquals(model.equals("qwen2"), st.contains("model.layers.0.self_attn.q_proj.bias"), model);
            assertFalse(st.contains("model.layers.0.self_attn.o_proj.bias"));

            SafeTensors expected = SafeTensors.open(folder(model).resolve("expected_logits.safetensors"));
            assertArrayEquals(new long[] {2, 8, config.get("vocab_size").asLong()}, expected.info("logits").shape());
            assertTrue(expected.contains("hidden_states." + config.get("num_hidden_layers").asInt()));
        }

        JsonNode inputs = JSON.readTree(folder("llama").resolve("inputs.json").toFile());
        assertEquals(JSON.readTree("[[1,1,1,1,1,1,1,1],[0,0,0,1,1,1,1,1]]"), inputs.get("attention_mask"));
        assertEquals(JSON.readTree("[[0,1,2,3,4,5,6,7],[0,0,0,0,1,2,3,4]]"), inputs.get("position_ids"));
    }

    @Test
    void bf16CopyIsTheF32WeightsRoundedToNearestEven() throws IOException {
        SafeTensors f32 = SafeTensors.open(folder("llama").resolve("model.safetensors"));
        SafeTensors bf16 = SafeTensors.open(folder("llama").resolve("model-bf16.safetensors"), 64); // tiny chunks too
        assertEquals(f32.names().size(), bf16.names().size());
        int changed = 0;
        for (String name : f32.names()) {
            assertEquals(SafeTensors.DType.BF16, bf16.info(name).dtype());
            float[] exact = f32.readFloats(name), rounded = bf16.readFloats(name);
            for (int i = 0; i < exact.length; i++) {
                int bits = Float.floatToRawIntBits(exact[i]);
                int nearestEven = (bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000;
                assertEquals(Float.intBitsToFloat(nearestEven), rounded[i], 0f, name + " [" + i + "]");
                if (rounded[i] != exact[i]) changed++;
            }
        }
        assertTrue(changed > 20_000, "rounding changed " + changed + " values");
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray q = bf16.toNDArray("model.layers.0.self_attn.q_proj.weight", manager);
            assertEquals(DataType.FLOAT32, q.getDataType());
            assertArrayEquals(bf16.readFloats("model.layers.0.self_attn.q_proj.weight"), q.toFloatArray());
        }
        assertTrue(Files.size(folder("llama").resolve("model-bf16.safetensors")) < Files.size(folder("llama").resolve("model.safetensors")));
        assertEquals(Map.of("format", "pt"), bf16.metadata());
    }
}
