package saferlhf.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.model.SafeTensors.DType;
import saferlhf.model.HostTensor;

class SafeTensorsTest {
    @TempDir Path dir;

    // ---- writing and round trips ----

    @Test
    void writesTheOfficialLayoutByteForByte() throws IOException {
        // safetensors.torch.save_file({"b": torch.tensor([1., 2.]), "a": torch.tensor([[0.5]])}, f, {"format": "pt"})
        Path f = dir.resolve("t.safetensors");
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        tensors.put("b", HostTensor.of(1f, 2f));
        tensors.put("a", new HostTensor(new float[] {0.5f}, new long[] {1, 1}));
        SafeTensors.write(f, tensors, Map.of("format", "pt"));

        String json = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        int padded = (json.length() + 7) / 8 * 8;
        ByteBuffer expected = ByteBuffer.allocate(8 + padded + 12).order(ByteOrder.LITTLE_ENDIAN);
        expected.putLong(padded).put((json + " ".repeat(padded - json.length())).getBytes(StandardCharsets.US_ASCII));
        expected.putFloat(0.5f).putFloat(1f).putFloat(2f);
        assertArrayEquals(expected.array(), Files.readAllBytes(f));
    }

    @Test
    void roundTripIsBitExactAndDeterministic() throws IOException {
        Random random = new Random(7);
        float[] big = new float[1000];
        for (int i = 0; i < big.length; i++) big[i] = (float) random.nextGaussian();
        float[] special = {0f, -0f, Float.MIN_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.intBitsToFloat(0x7fc00001), 1e-40f, 3.1415927f};
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        tensors.put("z.big", new HostTensor(big, new long[] {10, 20, 5}));
        tensors.put("special", HostTensor.of(special));
        tensors.put("scalar", new HostTensor(new float[] {42f}, new long[] {}));
        tensors.put("empty", new HostTensor(new float[0], new long[] {0, 3}));
        tensors.put("é-unicode name", HostTensor.of(1f));
        Map<String, String> metadata = Map.of("format", "pt", "note", "a \"quoted\" value\n");

        Path f = dir.resolve("rt.safetensors");
        SafeTensors.write(f, tensors, metadata);
        SafeTensors st = SafeTensors.open(f);
        assertEquals(Map.of("format", "pt", "note", "a \"quoted\" value\n"), st.metadata());
        assertEquals(List.of("empty", "scalar", "special", "z.big", "é-unicode name"), st.names());
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            SafeTensors.TensorInfo info = st.info(e.getKey());
            assertEquals(DType.F32, info.dtype());
            assertArrayEquals(e.getValue().shape(), info.shape());
            assertBitsEqual(e.getValue().data(), st.readFloats(e.getKey()));
        }
        assertEquals(0, (8 + headerLength(f)) % 8, "header padded to a multiple of 8");

        // insertion order of the maps does not matter
        Map<String, HostTensor> reversed = new LinkedHashMap<>();
        List<String> keys = List.copyOf(tensors.keySet());
        for (int i = keys.size() - 1; i >= 0; i--) reversed.put(keys.get(i), tensors.get(keys.get(i)));
        Path g = dir.resolve("rt2.safetensors");
        SafeTensors.write(g, reversed, new LinkedHashMap<>(Map.of("note", "a \"quoted\" value\n", "format", "pt")));
        assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(g));
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no temporary files left behind");
        }
    }

    @Test
    void writerRejectsAMismatchedShape() {
        assertThrows(IllegalArgumentException.class, () -> new HostTensor(new float[3], new long[] {2, 2}));
    }

    // ---- F16 and BF16 ----

    @Test
    void bf16AndF16ConvertExactly() throws IOException {
        short[] f16 = {0x3C00, (short) 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x7C00, (short) 0xFC00, (short) 0x8000, 0x3555};
        float[] f16Expected = {1f, -2f, 65504f, 0x1p-24f, 1023 * 0x1p-24f, 0x1p-14f, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, -0f, 0.333251953125f};
        short[] bf16 = {0x3F80, (short) 0xC000, 0x4049, 0x7F7F, 0x0001, 0x7F80, (short) 0x8000, 0x3EAB};
        float[] bf16Expected = {1f, -2f, 3.140625f, Float.intBitsToFloat(0x7F7F0000), 0x1p-133f, Float.POSITIVE_INFINITY,
                -0f, 0.333984375f};
        Path f = dir.resolve("half.safetensors");
        craft(f, "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[2,5],\"data_offsets\":[0,20]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[8],\"data_offsets\":[20,36]}}", shorts(f16), shorts(bf16));
        SafeTensors st = SafeTensors.open(f);
        assertEquals(List.of("h", "b"), st.names());
        assertArrayEquals(new long[] {2, 5}, st.info("h").shape());
        assertBitsEqual(f16Expected, st.readFloats("h"));
        assertBitsEqual(bf16Expected, st.readFloats("b"));
        assertTrue(Float.isNaN(SafeTensors.f16ToFloat((short) 0x7E00)));
        assertTrue(Float.isNaN(SafeTensors.bf16ToFloat((short) 0x7FC0)));
    }

    @Test
    void f16ConversionMatchesTheDefinitionForAllValues() {
        for (int h = 0; h < 0x10000; h++) {
            int exponent = (h >>> 10) & 0x1f, mantissa = h & 0x3ff;
            double sign = (h & 0x8000) != 0 ? -1 : 1;
            float actual = SafeTensors.f16ToFloat((short) h);
            if (exponent == 0x1f) {
                assertEquals(mantissa == 0, Float.isInfinite(actual), "0x" + Integer.toHexString(h));
                continue;
            }
            double expected = exponent == 0 ? sign * Math.scalb(mantissa / 1024.0, -14)
                    : sign * Math.scalb(1 + mantissa / 1024.0, exponent - 15);
            assertEquals(Float.floatToRawIntBits((float) expected), Float.floatToRawIntBits(actual), "0x" + Integer.toHexString(h));
        }
    }

    // ---- chunked mapping (the path that makes files over 2 GB work) ----

    @Test
    void tensorsSpanningChunksReadTheSameForAnyChunkSize() throws IOException {
        // odd offsets on purpose: an F16 of 3 elements puts the F32 at byte 6, so elements straddle chunk borders
        Random random = new Random(3);
        float[] f32 = new float[50];
        for (int i = 0; i < f32.length; i++) f32[i] = random.nextFloat() - 0.5f;
        long[] i64 = {Long.MIN_VALUE, -1, 0, 1, Long.MAX_VALUE, 1L << 40};
        int[] i32 = {Integer.MIN_VALUE, -7, 0, 7, Integer.MAX_VALUE};
        ByteBuffer data = ByteBuffer.allocate(6 + 200 + 48 + 20).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : new short[] {0x3C00, 0x4000, (short) 0xBC00}) data.putShort(s);
        for (float v : f32) data.putFloat(v);
        for (long v : i64) data.putLong(v);
        for (int v : i32) data.putInt(v);
        Path f = dir.resolve("chunks.safetensors");
        craft(f, "{\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                + "\"f\":{\"dtype\":\"F32\",\"shape\":[5,10],\"data_offsets\":[6,206]},"
                + "\"l\":{\"dtype\":\"I64\",\"shape\":[6],\"data_offsets\":[206,254]},"
                + "\"i\":{\"dtype\":\"I32\",\"shape\":[5],\"data_offsets\":[254,274]}}", data.array());
        for (long chunk : new long[] {1, 2, 3, 5, 7, 8, 13, 64, 100, 273, 274, 1 << 20, SafeTensors.DEFAULT_CHUNK_BYTES}) {
            SafeTensors st = SafeTensors.open(f, chunk);
            assertBitsEqual(new float[] {1f, 2f, -1f}, st.readFloats("h"));
            assertBitsEqual(f32, st.readFloats("f"));
            assertArrayEquals(i64, st.readLongs("l"), "chunk " + chunk);
            assertArrayEquals(i32, st.readInts("i"), "chunk " + chunk);
            assertArrayEquals(Arrays.stream(i32).asLongStream().toArray(), st.readLongs("i"));
        }
    }

    @Test
    void writtenFileReadsBackThroughTinyChunks() throws IOException {
        float[] data = new float[4097];
        for (int i = 0; i < data.length; i++) data[i] = i * 0.25f - 100f;
        Path f = dir.resolve("tiny-chunks.safetensors");
        SafeTensors.write(f, Map.of("a", HostTensor.of(1f, 2f, 3f), "w", new HostTensor(data, new long[] {17, 241})), Map.of());
        SafeTensors st = SafeTensors.open(f, 64);
        assertBitsEqual(data, st.readFloats("w"));
        assertBitsEqual(new float[] {1f, 2f, 3f}, st.readFloats("a"));
        assertTrue(st.metadata().isEmpty());
    }

    // ---- DJL ----

    @Test
    void toNDArrayIsAlwaysFloat32EvenFromBf16() throws IOException {
        Path f = dir.resolve("bf16.safetensors");
        craft(f, "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}",
                shorts(new short[] {0x3F80, 0x4000, (short) 0xC040, 0x3F00}));
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray w = SafeTensors.open(f).toNDArray("w", manager);
            assertEquals(DataType.FLOAT32, w.getDataType());
            assertEquals(new Shape(2, 2), w.getShape());
            assertEquals("w", w.getName());
            assertArrayEquals(new float[] {1f, 2f, -3f, 0.5f}, w.toFloatArray());
            assertEquals(0.5f, w.sum().getFloat(), 0f); // the engine can compute with it
        }
    }

    // ---- errors ----

    @Test
    void clearErrorsForBrokenFiles() throws IOException {
        Path ok = dir.resolve("ok.safetensors");
        SafeTensors.write(ok, Map.of("w", HostTensor.of(1f, 2f, 3f, 4f)), Map.of());
        byte[] bytes = Files.readAllBytes(ok);

        Path truncated = dir.resolve("truncated.safetensors");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 3));
        assertMessage(truncated, "offsets out of range", "'w'", "truncated");

        Files.write(truncated, new byte[] {1, 2, 3});
        assertMessage(truncated, "truncated", "3 bytes");

        Files.write(truncated, Arrays.copyOf(bytes, 20)); // header length says more than the file holds
        assertMessage(truncated, "truncated or not safetensors");

        Path f = dir.resolve("bad.safetensors");
        craft(f, "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], ", new byte[8]);
        assertMessage(f, "bad header", "not valid JSON");

        craft(f, "[1, 2]", new byte[0]);
        assertMessage(f, "bad header", "not a JSON object");

        craft(f, "{\"w\":{\"dtype\":\"F8_E9M9\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]);
        assertMessage(f, "unsupported dtype", "F8_E9M9", "'w'");

        craft(f, "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        assertMessage(f, "'w'", "span 8 bytes", "needs 12");

        craft(f, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", new byte[8]);
        assertMessage(f, "offsets out of range");

        craft(f, "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", new byte[8]);
        assertMessage(f, "'w'", "shape");

        craft(f, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]);
        assertMessage(f, "bad header", "Duplicate");

        craft(f, "{\"__metadata__\":{\"n\":1}}", new byte[0]);
        assertMessage(f, "__metadata__", "'n'", "not a string");

        craft(f, "{\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]}}", new byte[16]);
        SafeTensors st = SafeTensors.open(f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> st.readFloats("ids"));
        assertTrue(e.getMessage().contains("'ids'") && e.getMessage().contains("I64"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> st.readFloats("d"));
        assertTrue(e.getMessage().contains("'d'") && e.getMessage().contains("F64"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> st.readInts("ids"));
        assertTrue(e.getMessage().contains("readInts"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> st.readFloats("nope"));
        assertTrue(e.getMessage().contains("no tensor 'nope'"), e.getMessage());
    }

    // ---- helpers ----

    private static void assertMessage(Path f, String... parts) {
        IOException e = assertThrows(IOException.class, () -> SafeTensors.open(f));
        for (String part : parts) assertTrue(e.getMessage().contains(part), "'" + part + "' not in: " + e.getMessage());
    }

    /** Writes a safetensors file by hand: header length, header (unpadded, as some writers do), then raw data. */
    static void craft(Path f, String header, byte[]... data) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        int total = 8 + json.length;
        for (byte[] d : data) total += d.length;
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).put(json);
        for (byte[] d : data) b.put(d);
        Files.write(f, b.array());
    }

    private static byte[] shorts(short[] values) {
        ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (short v : values) b.putShort(v);
        return b.array();
    }

    private static long headerLength(Path f) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    static void assertBitsEqual(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, "length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]),
                    "element " + i + ": expected " + expected[i] + " but was " + actual[i]);
        }
    }
}
