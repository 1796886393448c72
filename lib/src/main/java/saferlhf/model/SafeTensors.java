package saferlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import saferlhf.util.AtomicFiles;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a> format, the checkpoint
 * format of Hugging Face models.
 *
 * <pre>
 * file   = u64 little-endian N | N bytes of UTF-8 JSON header (padded with spaces) | data section
 * header = {"__metadata__": {string: string}, name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
 * </pre>
 *
 * Offsets are bytes relative to the start of the data section, little-endian, row-major. The reader maps the data
 * section in chunks of under 2 GB (a {@link MappedByteBuffer} is int-indexed), so files of any size open without
 * being read into memory, and converts F16 and BF16 to F32 in Java: no BF16 tensor ever reaches DJL, where any BF16
 * tensor aborts the JVM. The writer writes F32 tensors the way the official library does (tensors sorted by name,
 * compact JSON, header padded with spaces to a multiple of 8 bytes), atomically.
 *
 * <pre>{@code
 * SafeTensors st = SafeTensors.open(Path.of("model.safetensors"));
 * for (SafeTensors.TensorInfo t : st.tensors()) System.out.println(t);      // name, dtype, shape
 * float[] wte = st.readFloats("transformer.wte.weight");                    // F32, F16 or BF16 as float
 * NDArray w = st.toNDArray("model.layers.0.self_attn.q_proj.weight", manager); // always F32
 * }</pre>
 *
 * An opened instance holds no file handle (the mappings stay valid after the channel closes; the operating system
 * releases them when they are garbage collected) and is safe to read from several threads.
 */
public final class SafeTensors {
    /** The official library refuses headers over 100 MB; so does this reader. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    /** Bytes per mapped chunk by default: 1 GiB, plus {@link #OVERLAP}, stays under the 2 GB a buffer can index. */
    static final long DEFAULT_CHUNK_BYTES = 1L << 30;
    /** Each chunk maps this many bytes past its end, so an element that starts in a chunk ends in it too. */
    private static final int OVERLAP = 8;
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** The element types of the format, with their size in bytes. */
    public enum DType {
        BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1), I16(2), U16(2), F16(2), BF16(2), I32(4), U32(4), F32(4),
        I64(8), U64(8), F64(8);

        private final int bytes;

        DType(int bytes) { this.bytes = bytes; }

        public int bytes() { return bytes; }
    }

    /**
     * One tensor of the header: {@code begin}/{@code end} are byte offsets into the data section. {@code shape} is
     * {@code []} for a scalar.
     */
    public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
        public TensorInfo {
            shape = shape.clone();
        }

        @Override
        public long[] shape() { return shape.clone(); }

        /** Number of elements: the product of the shape (1 for a scalar). */
        public long numel() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                    && begin == t.begin && end == t.end;
        }

        @Override
        public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape); }

        @Override
        public String toString() { return name + " " + dtype + " " + Arrays.toString(shape); }
    }

    private final Path file;
    private final Map<String, String> metadata;
    private final Map<String, TensorInfo> tensors; // in data order
    private final long chunkBytes;
    private final MappedByteBuffer[] chunks; // chunk k maps data bytes [k * chunkBytes, (k + 1) * chunkBytes + OVERLAP)

    private SafeTensors(Path file, Map<String, String> metadata, Map<String, TensorInfo> tensors, long chunkBytes,
            MappedByteBuffer[] chunks) {
        this.file = file;
        this.metadata = metadata;
        this.tensors = tensors;
        this.chunkBytes = chunkBytes;
        this.chunks = chunks;
    }

    /** Opens and validates {@code file}: parses the header, checks every tensor's offsets, maps the data section. */
    public static SafeTensors open(Path file) throws IOException { return open(file, DEFAULT_CHUNK_BYTES); }

    /** {@link #open(Path)} with a chosen chunk size, so tests can cross chunk boundaries with a small file. */
    static SafeTensors open(Path file, long chunkBytes) throws IOException {
        if (chunkBytes <= 0 || chunkBytes + OVERLAP > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("chunk size must be in [1, " + (Integer.MAX_VALUE - OVERLAP) + "]: " + chunkBytes);
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) throw error(file, "truncated: " + size + " bytes, but the file starts with an 8-byte header length");
            long headerBytes = readFully(channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (headerBytes < 0 || headerBytes > size - 8) {
                throw error(file, "truncated or not safetensors: header length " + Long.toUnsignedString(headerBytes)
                        + " but the file has " + size + " bytes");
            }
            if (headerBytes > MAX_HEADER_BYTES) throw error(file, "header of " + headerBytes + " bytes exceeds 100 MB");
            ByteBuffer header = readFully(channel, 8, (int) headerBytes);
            long dataStart = 8 + headerBytes;
            long dataBytes = size - dataStart;

            JsonNode root;
            try {
                root = JSON.readTree(StandardCharsets.UTF_8.decode(header).toString());
            } catch (JsonProcessingException e) {
                throw error(file, "bad header: not valid JSON (" + e.getOriginalMessage() + ")");
            }
            if (root == null || !root.isObject()) throw error(file, "bad header: not a JSON object");
            Map<String, String> metadata = new LinkedHashMap<>();
            List<TensorInfo> infos = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    parseMetadata(file, e.getValue(), metadata);
                } else {
                    infos.add(parseTensor(file, e.getKey(), e.getValue(), dataBytes));
                }
            }
            infos.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            for (TensorInfo t : infos) tensors.put(t.name(), t);

            MappedByteBuffer[] chunks = new MappedByteBuffer[(int) ((dataBytes + chunkBytes - 1) / chunkBytes)];
            for (int k = 0; k < chunks.length; k++) {
                long start = k * chunkBytes;
                chunks[k] = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + start,
                        Math.min(dataBytes - start, chunkBytes + OVERLAP));
            }
            return new SafeTensors(file, Collections.unmodifiableMap(metadata), Collections.unmodifiableMap(tensors),
                    chunkBytes, chunks);
        }
    }

    public Path file() { return file; }

    /** The header's {@code __metadata__} (string to string; empty when absent), in file order. */
    public Map<String, String> metadata() { return metadata; }

    /** All tensors, in the order of their data in the file. */
    public List<TensorInfo> tensors() { return List.copyOf(tensors.values()); }

    /** Tensor names, in the order of their data in the file. */
    public List<String> names() { return List.copyOf(tensors.keySet()); }

    public boolean contains(String name) { return tensors.containsKey(name); }

    /** The header entry of {@code name}; throws {@link IllegalArgumentException} naming the file if there is none. */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException("no tensor '" + name + "' in " + file + " (" + tensors.size() + " tensors)");
        return t;
    }

    /** The tensor as F32, row-major: F32 as stored, F16 and BF16 converted exactly. Other dtypes throw. */
    public float[] readFloats(String name) {
        float[] out = new float[arrayLength(info(name))];
        readFloats(name, java.nio.FloatBuffer.wrap(out));
        return out;
    }

    /** As {@link #readFloats(String)}, putting the values into {@code out} from its position on (no Java array). */
    public void readFloats(String name, java.nio.FloatBuffer out) {
        TensorInfo t = info(name);
        switch (t.dtype()) {
            case F32 -> forEachRun(t, (b, n, at) -> out.put(b.asFloatBuffer().limit(n)));
            case BF16 -> forEachRun(t, (b, n, at) -> {
                ShortBuffer s = b.asShortBuffer();
                for (int i = 0; i < n; i++) out.put(bf16ToFloat(s.get(i)));
            });
            case F16 -> forEachRun(t, (b, n, at) -> {
                ShortBuffer s = b.asShortBuffer();
                for (int i = 0; i < n; i++) out.put(f16ToFloat(s.get(i)));
            });
            default -> throw unsupported(t, "readFloats", "F32, F16, BF16");
        }
    }

    /** A tensor as a float32 {@link HostTensor} (F16 and BF16 converted in Java). */
    public HostTensor read(String name) {
        return new HostTensor(readFloats(name), info(name).shape());
    }

    /** Every floating-point tensor of the file, by name, in data order. */
    public Map<String, HostTensor> readAll() {
        Map<String, HostTensor> all = new java.util.LinkedHashMap<>();
        for (TensorInfo t : tensors()) {
            if (t.dtype() == DType.F32 || t.dtype() == DType.F16 || t.dtype() == DType.BF16) all.put(t.name(), read(t.name()));
        }
        return all;
    }

    /** An I64 or I32 tensor as longs. */
    public long[] readLongs(String name) {
        TensorInfo t = info(name);
        long[] out = new long[arrayLength(t)];
        switch (t.dtype()) {
            case I64 -> forEachRun(t, (b, n, at) -> b.asLongBuffer().get(out, at, n));
            case I32 -> forEachRun(t, (b, n, at) -> {
                for (int i = 0; i < n; i++) out[at + i] = b.getInt(i * 4);
            });
            default -> throw unsupported(t, "readLongs", "I64, I32");
        }
        return out;
    }

    /** An I32 tensor as ints. */
    public int[] readInts(String name) {
        TensorInfo t = info(name);
        if (t.dtype() != DType.I32) throw unsupported(t, "readInts", "I32");
        int[] out = new int[arrayLength(t)];
        forEachRun(t, (b, n, at) -> b.asIntBuffer().get(out, at, n));
        return out;
    }

    /**
     * The tensor as a float32 {@link NDArray} on {@code manager}, named {@code name}: F32, F16 and BF16 are read with
     * {@link #readFloats} first, so no BF16 tensor ever reaches DJL.
     */
    public NDArray toNDArray(String name, NDManager manager) {
        NDArray array = manager.create(readFloats(name), new Shape(info(name).shape()));
        array.setName(name);
        return array;
    }

    /**
     * Writes F32 {@code tensors} and string {@code metadata} to {@code file} atomically, as the official library does:
     * data in the order of the names' UTF-8 bytes, a compact JSON header ({@code __metadata__} first, keys sorted)
     * padded with spaces to a multiple of 8 bytes. Hugging Face {@code transformers} wants {@code {"format": "pt"}}
     * in the metadata. The same input always gives the same bytes. Each tensor's values are asked for once, in the
     * order written, so a lazy map ({@link LazyTensors}) streams a model to disk one tensor at a time.
     */
    public static void write(Path file, Map<String, HostTensor> tensors, Map<String, String> metadata) throws IOException {
        List<String> names = new ArrayList<>(tensors.keySet());
        names.sort(Comparator.comparing((String s) -> s.getBytes(StandardCharsets.UTF_8), Arrays::compareUnsigned));
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) header.put("__metadata__", new TreeMap<>(metadata));
        long offset = 0;
        for (String name : names) {
            if (name.equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' is not a valid tensor name");
            long[] shape = LazyTensors.shape(tensors, name);
            long end = offset + 4L * Arrays.stream(shape).reduce(1, Math::multiplyExact);
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", "F32");
            entry.put("shape", shape);
            entry.put("data_offsets", new long[] {offset, end});
            header.put(name, entry);
            offset = end;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;

        Path temporary = AtomicFiles.temporarySibling(file);
        try {
            try (FileChannel out = FileChannel.open(temporary, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer start = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
                start.putLong(padded).put(json);
                while (start.hasRemaining()) start.put((byte) ' ');
                writeFully(out, start.flip());
                ByteBuffer block = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
                for (String name : names) {
                    float[] data = tensors.get(name).data();
                    for (int i = 0; i < data.length; ) {
                        int n = Math.min(block.capacity() / 4, data.length - i);
                        block.clear();
                        block.asFloatBuffer().put(data, i, n);
                        writeFully(out, block.limit(4 * n));
                        i += n;
                    }
                }
                out.force(true);
            }
            AtomicFiles.commit(temporary, file);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** BF16 is the top half of an F32: exact. */
    static float bf16ToFloat(short bits) { return Float.intBitsToFloat((bits & 0xffff) << 16); }

    /** IEEE half precision to single: exact for every value (subnormals, infinities and NaN included). */
    static float f16ToFloat(short bits) {
        int h = bits & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        if (exponent == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13)); // inf, NaN
        if (exponent == 0) {
            float v = mantissa * 0x1p-24f; // zero or subnormal: mantissa * 2^-24, exact in F32
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
    }

    // ---- reading: runs of whole elements, one per chunk ----

    @FunctionalInterface
    private interface Run {
        /** {@code count} elements at the start of little-endian {@code bytes}, to be stored at {@code at} onwards. */
        void read(ByteBuffer bytes, int count, int at);
    }

    /** Calls {@code run} for the elements of {@code t} that start in each chunk, in order. */
    private void forEachRun(TensorInfo t, Run run) {
        int size = t.dtype().bytes();
        long pos = t.begin();
        int done = 0;
        while (pos < t.end()) {
            int k = (int) (pos / chunkBytes);
            long chunkStart = k * chunkBytes;
            long startsBefore = Math.min(t.end(), chunkStart + chunkBytes);
            int count = (int) ((startsBefore - pos + size - 1) / size);
            ByteBuffer bytes = chunks[k].slice((int) (pos - chunkStart), count * size).order(ByteOrder.LITTLE_ENDIAN);
            run.read(bytes, count, done);
            done += count;
            pos += (long) count * size;
        }
    }

    private int arrayLength(TensorInfo t) {
        long n = t.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor '" + t.name() + "' has " + n + " elements, too many for one Java array");
        }
        return (int) n;
    }

    private IllegalArgumentException unsupported(TensorInfo t, String method, String supported) {
        return new IllegalArgumentException("tensor '" + t.name() + "' in " + file + " has dtype " + t.dtype() + "; "
                + method + " reads " + supported);
    }

    // ---- header parsing ----

    private static void parseMetadata(Path file, JsonNode node, Map<String, String> metadata) throws IOException {
        if (node.isNull()) return;
        if (!node.isObject()) throw error(file, "bad header: __metadata__ is not an object");
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) throw error(file, "bad header: __metadata__ value of '" + e.getKey() + "' is not a string");
            metadata.put(e.getKey(), e.getValue().textValue());
        }
    }

    private static TensorInfo parseTensor(Path file, String name, JsonNode node, long dataBytes) throws IOException {
        String where = "bad header: tensor '" + name + "': ";
        if (!(node instanceof ObjectNode)) throw error(file, where + "entry is not an object");
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) throw error(file, where + "missing dtype");
        DType dtype;
        try {
            dtype = DType.valueOf(dtypeNode.textValue());
        } catch (IllegalArgumentException e) {
            throw error(file, "unsupported dtype " + dtypeNode.textValue() + " of tensor '" + name + "' (known: "
                    + Arrays.toString(DType.values()) + ")");
        }
        long[] shape = longs(file, where + "shape", node.get("shape"), -1);
        long[] offsets = longs(file, where + "data_offsets", node.get("data_offsets"), 2);
        long begin = offsets[0], end = offsets[1];
        if (begin > end || end > dataBytes) {
            throw error(file, "offsets out of range: tensor '" + name + "' has data_offsets [" + begin + ", " + end
                    + "] but the data section has " + dataBytes + " bytes" + (end > dataBytes ? " (file truncated?)" : ""));
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
        long expected;
        try {
            expected = Math.multiplyExact(info.numel(), dtype.bytes());
        } catch (ArithmeticException e) {
            throw error(file, where + "shape " + Arrays.toString(shape) + " is too large");
        }
        if (end - begin != expected) {
            throw error(file, where + "data_offsets span " + (end - begin) + " bytes but " + dtype + " "
                    + Arrays.toString(shape) + " needs " + expected);
        }
        return info;
    }

    /** A JSON array of non-negative integers ({@code length} of them, unless -1). */
    private static long[] longs(Path file, String what, JsonNode node, int length) throws IOException {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw error(file, what + " is missing or not an array" + (length >= 0 ? " of " + length : ""));
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.canConvertToLong() || !v.isIntegralNumber() || v.longValue() < 0) {
                throw error(file, what + " holds " + v + ", not a non-negative integer");
            }
            out[i] = v.longValue();
        }
        return out;
    }

    private static IOException error(Path file, String message) { return new IOException(file + ": " + message); }

    private static ByteBuffer readFully(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) throw new IOException("unexpected end of file");
        }
        return buffer.flip();
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) channel.write(buffer);
    }
}
