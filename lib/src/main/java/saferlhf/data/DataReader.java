package saferlhf.data;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import java.util.zip.GZIPInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * Streams typed records from a data file or a Hugging Face hub snapshot folder, one record in memory at a time.
 *
 * <p>Files: {@code .jsonl}, {@code .jsonl.gz}, {@code .jsonl.xz} (one JSON object per line) and {@code .json} (one JSON
 * array of objects, streamed with Jackson's {@link JsonParser}). A folder is searched recursively for such files, in
 * sorted order of their relative paths; hidden entries ({@code .git}, {@code .cache}, ...), {@code README*} and HF metadata
 * ({@code dataset_info*.json}, {@code dataset_dict.json}, {@code state.json}) are skipped; {@link ReadOptions#split()} keeps
 * only files whose stem is the split ({@code round0/330k/train.jsonl.xz} has stem {@code train}).
 *
 * <p>The format of each file is detected from its first record ({@link DataFormat#detect}); every file of one reader must
 * have the same format. Every record is fully type-checked; a bad line throws {@link DataError}
 * ({@code FILE:LINE: field 'NAME': ...}) or, with {@link ReadOptions#skipInvalid()}, is skipped and counted in
 * {@link #report()}.
 *
 * <p>Blank lines: blank (empty or whitespace-only) lines at the end of a file are ignored; a blank line followed by
 * more records is an invalid line. In a {@code .json} array, malformed JSON makes the rest of that file unreadable: it
 * counts as one invalid record and reading goes on with the next file.
 *
 * <p>Close the reader (or the stream from {@link #stream()}) to close the open file: use try-with-resources.
 */
public final class DataReader implements Iterator<DataRecord>, Closeable {
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final ObjectMapper ARRAY_JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final List<String> SUFFIXES = List.of(".jsonl", ".jsonl.gz", ".jsonl.xz", ".json");

    private final List<Path> files;
    private final ReadOptions options;
    private final ReadReport report;
    private int fileIndex = -1;
    private Source source;
    private DataFormat format;
    private DataFormat fileFormat;
    private DataRecord next;
    private String nextFile;
    private long nextLine;
    private String file;
    private long line;

    private DataReader(List<Path> files, ReadOptions options) {
        this.files = files;
        this.options = options;
        this.report = new ReadReport(options.maxErrorSamples());
    }

    /** Opens a file or folder with {@link ReadOptions#defaults()}. */
    public static DataReader open(Path path) { return open(path, ReadOptions.defaults()); }

    /**
     * Opens a file or folder and reads ahead to the first record, so {@link #format()} is known.
     *
     * @throws DataError if the path holds no data file, or the first record is malformed or of unknown format
     */
    public static DataReader open(Path path, ReadOptions options) {
        return open(dataFiles(path, options.split()), options);
    }

    /** Opens a list of data files of one format, read in the given order. */
    public static DataReader open(List<Path> files, ReadOptions options) {
        if (files.isEmpty()) throw new IllegalArgumentException("no files to read");
        DataReader reader = new DataReader(List.copyOf(files), options);
        try {
            reader.advance();
        } catch (RuntimeException e) {
            reader.close();
            throw e;
        }
        return reader;
    }

    /**
     * The data files of a path: the path itself if it is a file, else the data files found under the folder, sorted.
     *
     * @param split null for all, else keep files whose stem equals it
     * @throws DataError if there is none
     */
    public static List<Path> dataFiles(Path path, String split) {
        if (Files.isRegularFile(path)) return List.of(path);
        if (!Files.isDirectory(path)) throw new DataError(path.toString(), 0, null, "no such file or folder");
        List<Path> found = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(path)) {
            walk.filter(Files::isRegularFile)
                    .filter(p -> isDataFile(path.relativize(p)) && (!p.toString().endsWith(".json") || isJsonArray(p)))
                    .filter(p -> split == null || split.equals(stem(p)))
                    .forEach(found::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        found.sort((a, b) -> path.relativize(a).toString().replace('\\', '/')
                .compareTo(path.relativize(b).toString().replace('\\', '/')));
        if (found.isEmpty()) {
            throw new DataError(path.toString(), 0, null, "no data files (" + String.join(", ", SUFFIXES) + ") found"
                    + (split == null ? "" : " for split '" + split + "'"));
        }
        return found;
    }

    /** In a folder, a {@code .json} file is data only if it holds an array (not tokenizer.json, config.json, ...). */
    private static boolean isJsonArray(Path file) {
        try (java.io.Reader reader = Files.newBufferedReader(file, java.nio.charset.StandardCharsets.UTF_8)) {
            int c;
            do { c = reader.read(); } while (c == '\uFEFF' || (c != -1 && Character.isWhitespace(c)));
            return c == '[';
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isDataFile(Path relative) {
        for (Path part : relative) {
            if (part.toString().startsWith(".")) return false;
        }
        String name = relative.getFileName().toString();
        if (name.toLowerCase().startsWith("readme") || name.startsWith("dataset_info") || name.equals("dataset_dict.json")
                || name.equals("state.json")) return false;
        return stem(relative) != null;
    }

    /** The file name without its data suffix ({@code train} for {@code train.jsonl.xz}), or null if not a data file. */
    public static String stem(Path file) {
        String name = file.getFileName().toString();
        for (String suffix : List.of(".jsonl.gz", ".jsonl.xz", ".jsonl", ".json")) {
            if (name.endsWith(suffix)) return name.substring(0, name.length() - suffix.length());
        }
        return null;
    }

    /** The format of the records (that of the first file). */
    public DataFormat format() { return format; }

    /** Counts so far: records returned, invalid lines skipped, per-file counts. */
    public ReadReport report() { return report; }

    /** The data files this reader reads, in order. */
    public List<Path> files() { return files; }

    /** The file of the record last returned by {@link #next()}. */
    public String file() { return file; }

    /** The 1-based line of the record last returned by {@link #next()} (for a {@code .json} array: where it starts). */
    public long line() { return line; }

    @Override
    public boolean hasNext() { return next != null; }

    @Override
    public DataRecord next() {
        if (next == null) throw new NoSuchElementException();
        DataRecord result = next;
        file = nextFile;
        line = nextLine;
        report.recordRead(file);
        advance();
        return result;
    }

    /** The remaining records as a sequential stream; closing the stream closes this reader. */
    public Stream<DataRecord> stream() {
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(this, Spliterator.ORDERED | Spliterator.NONNULL),
                false).onClose(this::close);
    }

    /** As {@link #stream()}, each record with the file and line it was read from. */
    public Stream<Located<DataRecord>> located() {
        Iterator<Located<DataRecord>> records = new Iterator<>() {
            @Override
            public boolean hasNext() { return DataReader.this.hasNext(); }

            @Override
            public Located<DataRecord> next() {
                DataRecord record = DataReader.this.next();
                return new Located<>(record, file, line);
            }
        };
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(records, Spliterator.ORDERED | Spliterator.NONNULL),
                false).onClose(this::close);
    }

    @Override
    public void close() {
        if (source != null) {
            try {
                source.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                source = null;
                fileIndex = files.size();
            }
        }
    }

    // ---- typed entry points (each stream must be closed) ----

    /** All records of the detected format. */
    public static Stream<DataRecord> read(Path path, ReadOptions options) {
        return open(path, options).stream();
    }

    /** Preference pairs from PKU-SafeRLHF v1 or v0 data. */
    public static Stream<PreferencePair> preferences(Path path) { return preferences(path, ReadOptions.defaults()); }

    public static Stream<PreferencePair> preferences(Path path, ReadOptions options) {
        return typed(path, options, PreferencePair.class, DataFormat.SAFE_RLHF_V1, DataFormat.SAFE_RLHF_V0);
    }

    /** PKU-SafeRLHF v1 records (all 16 fields). */
    public static Stream<SafeRlhfRecord> safeRlhfV1(Path path) { return safeRlhfV1(path, ReadOptions.defaults()); }

    public static Stream<SafeRlhfRecord> safeRlhfV1(Path path, ReadOptions options) {
        return typed(path, options, SafeRlhfRecord.class, DataFormat.SAFE_RLHF_V1);
    }

    /** BeaverTails QA-classification records. */
    public static Stream<BeaverTailsRecord> beaverTails(Path path) { return beaverTails(path, ReadOptions.defaults()); }

    public static Stream<BeaverTailsRecord> beaverTails(Path path, ReadOptions options) {
        return typed(path, options, BeaverTailsRecord.class, DataFormat.BEAVERTAILS);
    }

    /** BeaverTails-Evaluation prompts. */
    public static Stream<BeaverTailsEvalPrompt> evalPrompts(Path path) { return evalPrompts(path, ReadOptions.defaults()); }

    public static Stream<BeaverTailsEvalPrompt> evalPrompts(Path path, ReadOptions options) {
        return typed(path, options, BeaverTailsEvalPrompt.class, DataFormat.BEAVERTAILS_EVAL);
    }

    /** Supervised demonstrations from SFT or Alpaca data. */
    public static Stream<SftRecord> sft(Path path) { return sft(path, ReadOptions.defaults()); }

    public static Stream<SftRecord> sft(Path path, ReadOptions options) {
        return typed(path, options, SftRecord.class, DataFormat.SFT, DataFormat.ALPACA);
    }

    /**
     * The prompts of any format. BeaverTails-Evaluation prompts keep their category key as {@code category}; other
     * formats without a prompt category give a null category. Duplicates are kept (the reference's PromptOnlyDataset
     * removes them at training time).
     */
    public static Stream<PromptRecord> prompts(Path path) { return prompts(path, ReadOptions.defaults()); }

    public static Stream<PromptRecord> prompts(Path path, ReadOptions options) {
        return read(path, options).map(DataReader::toPrompt);
    }

    /** The prompt record of any record. */
    public static PromptRecord toPrompt(DataRecord record) {
        if (record instanceof PromptRecord p) return p;
        if (record instanceof BeaverTailsEvalPrompt e) return new PromptRecord(e.prompt(), e.category().key());
        return new PromptRecord(record.prompt());
    }

    private static <T> Stream<T> typed(Path path, ReadOptions options, Class<T> type, DataFormat... accepted) {
        DataReader reader = open(path, options);
        if (reader.format != null && !List.of(accepted).contains(reader.format)) {
            reader.close();
            throw new DataError(reader.files.get(0).toString(), 0, null,
                    "expected " + List.of(accepted) + " data, found " + reader.format);
        }
        return reader.stream().map(type::cast);
    }

    // ---- reading ----

    private void advance() {
        next = null;
        while (next == null) {
            if (source == null && !openNextFile()) return;
            JsonNode node;
            try {
                node = source.nextNode();
            } catch (DataError e) {
                if (e.line() == 0 || !source.recoverable()) closeSource();
                fail(e);
                continue;
            }
            if (node == null) {
                closeSource();
                continue;
            }
            String name = source.path().toString();
            try {
                if (fileFormat == null) fileFormat = detect(node, name, source.line());
                next = toRecord(node, fileFormat, name, source.line());
                nextFile = name;
                nextLine = source.line();
            } catch (DataError e) {
                fail(e);
            }
        }
    }

    private void fail(DataError e) {
        if (!options.skipInvalid()) {
            close();
            throw e;
        }
        report.invalidLine(e);
    }

    private DataFormat detect(JsonNode node, String name, long lineNr) {
        Set<String> names = new LinkedHashSet<>();
        node.fieldNames().forEachRemaining(names::add);
        DataFormat detected = DataFormat.detect(names);
        if (detected == null) {
            close();
            throw new DataError(name, lineNr, null, "unknown record format with fields " + names
                    + "; expected PKU-SafeRLHF (v0/v1), BeaverTails, BeaverTails-Evaluation, SFT, Alpaca, dialogue, "
                    + "processed-hh-rlhf or prompt-only records");
        }
        if (format == null) {
            format = detected;
        } else if (detected != format) {
            close();
            throw new DataError(name, lineNr, null, "format " + detected + " differs from " + format + " of " + files.get(0));
        }
        return detected;
    }

    private boolean openNextFile() {
        if (++fileIndex >= files.size()) return false;
        Path path = files.get(fileIndex);
        fileFormat = null;
        report.fileStarted(path.toString());
        try {
            source = path.getFileName().toString().endsWith(".json") ? new ArraySource(path) : new LineSource(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + path, e);
        }
        return true;
    }

    private void closeSource() {
        try {
            source.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            source = null;
        }
    }

    static InputStream decompressed(Path path) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(path), 1 << 16);
        String name = path.getFileName().toString();
        try {
            if (name.endsWith(".gz")) return new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16);
            if (name.endsWith(".xz")) return new BufferedInputStream(new XZInputStream(in), 1 << 16);
        } catch (IOException e) {
            in.close();
            throw e;
        }
        return in;
    }

    /** One file's JSON objects. */
    private interface Source extends Closeable {
        /** The next object, or null at the end; throws DataError for a bad one. */
        JsonNode nextNode();

        long line();

        Path path();

        /** Whether reading can go on after a DataError. */
        boolean recoverable();
    }

    /** JSON Lines: one object per line; blank lines only at the end. */
    private static final class LineSource implements Source {
        private final Path path;
        private final BufferedReader reader;
        private long lineNr;
        private long firstPendingBlank;

        LineSource(Path path) throws IOException {
            this.path = path;
            this.reader = new BufferedReader(new InputStreamReader(decompressed(path), StandardCharsets.UTF_8), 1 << 16);
        }

        @Override
        public JsonNode nextNode() {
            if (pending != null) {
                String text = pending;
                pending = null;
                return parse(text);
            }
            while (true) {
                String text;
                try {
                    text = reader.readLine();
                } catch (IOException e) {
                    throw new DataError(path.toString(), 0, null, "cannot read: " + e.getMessage(), e);
                }
                if (text == null) return null;
                lineNr++;
                if (lineNr == 1 && text.startsWith("\uFEFF")) text = text.substring(1);
                if (text.isBlank()) {
                    if (firstPendingBlank == 0) firstPendingBlank = lineNr;
                    continue;
                }
                if (firstPendingBlank != 0) {
                    long blank = firstPendingBlank;
                    firstPendingBlank = 0;
                    pending = text; // report the blank line now, parse this line on the next call
                    throw new DataError(path.toString(), blank, null, "blank line before more records");
                }
                return parse(text);
            }
        }

        private String pending;

        @Override
        public long line() { return lineNr; }

        private JsonNode parse(String text) {
            try {
                JsonNode node = JSON.readTree(text);
                if (!node.isObject()) {
                    throw new DataError(path.toString(), lineNr, null, "expected a JSON object, got " + node.getNodeType());
                }
                return node;
            } catch (JsonProcessingException e) {
                throw new DataError(path.toString(), lineNr, null, "malformed JSON: " + e.getOriginalMessage(), e);
            }
        }

        @Override
        public Path path() { return path; }

        @Override
        public boolean recoverable() { return true; }

        @Override
        public void close() throws IOException { reader.close(); }
    }

    /** A JSON array of objects, streamed. */
    private static final class ArraySource implements Source {
        private final Path path;
        private final JsonParser parser;
        private boolean started;
        private long lineNr;

        ArraySource(Path path) throws IOException {
            this.path = path;
            this.parser = ARRAY_JSON.createParser(decompressed(path));
        }

        @Override
        public JsonNode nextNode() {
            try {
                if (!started) {
                    started = true;
                    JsonToken first = parser.nextToken();
                    if (first != JsonToken.START_ARRAY) {
                        throw new DataError(path.toString(), 1, null, "a .json data file must hold one JSON array of objects");
                    }
                }
                JsonToken token = parser.nextToken();
                lineNr = parser.currentTokenLocation().getLineNr();
                if (token == JsonToken.END_ARRAY || token == null) return null;
                if (token != JsonToken.START_OBJECT) {
                    parser.skipChildren();
                    throw new DataError(path.toString(), lineNr, null, "expected a JSON object, got " + token);
                }
                return ARRAY_JSON.readTree(parser);
            } catch (JsonParseException e) {
                long at = e.getLocation() == null ? lineNr : e.getLocation().getLineNr();
                throw new DataError(path.toString(), at, null, "malformed JSON: " + e.getOriginalMessage(), e);
            } catch (IOException e) {
                throw new DataError(path.toString(), lineNr, null, "cannot read: " + e.getMessage(), e);
            }
        }

        @Override
        public long line() { return lineNr; }

        @Override
        public Path path() { return path; }

        @Override
        public boolean recoverable() { return false; }

        @Override
        public void close() throws IOException { parser.close(); }
    }

    // ---- record conversion with typed errors ----

    /** Converts one JSON object into the record type of {@code format}, checking every field. */
    static DataRecord toRecord(JsonNode node, DataFormat format, String file, long line) {
        Fields f = new Fields(node, file, line);
        if (format.strict()) f.rejectUnknown(format.fields());
        return switch (format) {
            case SAFE_RLHF_V1 -> new SafeRlhfRecord(f.str("prompt"), f.str("response_0"), f.str("response_1"),
                    f.str("prompt_source"), f.str("response_0_source"), f.str("response_1_source"),
                    f.bool("is_response_0_safe"), f.bool("is_response_1_safe"),
                    f.flags("response_0_harm_category", HarmCategory.class, HarmCategory.values(), HarmCategory::key),
                    f.flags("response_1_harm_category", HarmCategory.class, HarmCategory.values(), HarmCategory::key),
                    f.intIn("response_0_severity_level", 0, 3), f.intIn("response_1_severity_level", 0, 3),
                    f.intIn("better_response_id", 0, 1), f.intIn("safer_response_id", 0, 1),
                    f.str("response_0_sha256"), f.str("response_1_sha256"));
            case SAFE_RLHF_V0 -> new SafeRlhfV0Record(f.str("prompt"), f.str("response_0"), f.str("response_1"),
                    f.bool("is_response_0_safe"), f.bool("is_response_1_safe"),
                    f.intIn("better_response_id", 0, 1), f.intIn("safer_response_id", 0, 1));
            case BEAVERTAILS -> new BeaverTailsRecord(f.str("prompt"), f.str("response"),
                    f.flags("category", BeaverTailsCategory.class, BeaverTailsCategory.values(), BeaverTailsCategory::key),
                    f.bool("is_safe"));
            case BEAVERTAILS_EVAL -> {
                String prompt = f.str("prompt");
                String key = f.str("category");
                BeaverTailsCategory category = BeaverTailsCategory.fromKey(key)
                        .orElseThrow(() -> f.error("category", "unknown BeaverTails category " + quote(key)));
                int id = f.intIn("category_id", 0, 13);
                if (id != category.id()) {
                    throw f.error("category_id", "expected " + category.id() + " for category " + quote(key) + ", got " + id);
                }
                yield new BeaverTailsEvalPrompt(prompt, category);
            }
            case PROMPTS -> new PromptRecord(f.str("prompt"), f.optionalStr("category"));
            case SFT -> new SftRecord(f.str("prompt"), f.str("response"));
            case ALPACA -> {
                String instruction = f.str("instruction");
                String input = f.str("input");
                yield new SftRecord(input.isEmpty() ? instruction : instruction + " " + input, f.str("output"));
            }
            case DIALOGUE -> {
                JsonNode dialogue = f.array("dialogue");
                List<String> turns = new ArrayList<>();
                for (int i = 0; i < dialogue.size(); i++) {
                    JsonNode turn = dialogue.get(i);
                    if (!turn.isTextual()) throw f.error("dialogue", "turn " + i + ": expected a string, got " + Fields.shown(turn));
                    turns.add(turn.textValue());
                }
                yield f.dialogue("dialogue", turns);
            }
            case HH_RLHF_DIALOGUE -> { // the reference: [turn['text'] for turn in context] + [chosen['text']]
                JsonNode context = f.array("context");
                if (context.size() % 2 == 0) {
                    throw f.error("context", "expected an odd number of turns (human first and last), got " + context.size());
                }
                List<String> turns = new ArrayList<>();
                for (int i = 0; i < context.size(); i++) {
                    turns.add(f.turnText("context", "turn " + i + ": ", context.get(i), i % 2 == 0 ? "human" : "assistant"));
                }
                turns.add(f.turnText("chosen", "", f.get("chosen"), "assistant"));
                yield f.dialogue("context", turns);
            }
        };
    }

    private static String quote(String s) {
        String shown = s.length() > 60 ? s.substring(0, 57) + "..." : s;
        return "\"" + shown + "\"";
    }

    /** Field access that names the file, line and field in every error. */
    private record Fields(JsonNode node, String file, long line) {
        DataError error(String field, String problem) { return new DataError(file, line, field, problem); }

        JsonNode get(String field) {
            JsonNode value = node.get(field);
            if (value == null) throw error(field, "missing");
            return value;
        }

        void rejectUnknown(List<String> allowed) {
            Iterator<String> names = node.fieldNames();
            while (names.hasNext()) {
                String name = names.next();
                if (!allowed.contains(name)) throw error(name, "unexpected field for this format (fields: " + allowed + ")");
            }
        }

        String str(String field) {
            JsonNode value = get(field);
            if (!value.isTextual()) throw error(field, "expected a string, got " + shown(value));
            return value.textValue();
        }

        String optionalStr(String field) {
            JsonNode value = node.get(field);
            if (value == null || value.isNull()) return null;
            if (!value.isTextual()) throw error(field, "expected a string, got " + shown(value));
            return value.textValue();
        }

        JsonNode array(String field) {
            JsonNode value = get(field);
            if (!value.isArray()) throw error(field, "expected a list, got " + shown(value));
            return value;
        }

        /** The text of a processed-hh-rlhf turn {@code {"role": role, "text": ...}}; {@code where} prefixes errors. */
        String turnText(String field, String where, JsonNode turn, String role) {
            if (!turn.isObject()) throw error(field, where + "expected {\"role\", \"text\"}, got " + shown(turn));
            JsonNode r = turn.get("role"), text = turn.get("text");
            if (r == null || !r.isTextual() || !r.textValue().equals(role)) {
                throw error(field, where + "expected role " + quote(role) + ", got " + (r == null ? "none" : shown(r)));
            }
            if (text == null || !text.isTextual()) {
                throw error(field, where + "expected a string 'text', got " + (text == null ? "none" : shown(text)));
            }
            return text.textValue();
        }

        DialogueRecord dialogue(String field, List<String> turns) {
            try {
                return new DialogueRecord(turns);
            } catch (IllegalArgumentException e) {
                throw error(field, e.getMessage());
            }
        }

        boolean bool(String field) {
            JsonNode value = get(field);
            if (!value.isBoolean()) throw error(field, "expected true or false, got " + shown(value));
            return value.booleanValue();
        }

        int intIn(String field, int min, int max) {
            JsonNode value = get(field);
            String expected = max - min == 1 ? "expected " + min + " or " + max : "expected an integer in " + min + ".." + max;
            if (!value.isIntegralNumber() || !value.canConvertToInt()) throw error(field, expected + ", got " + shown(value));
            int v = value.intValue();
            if (v < min || v > max) throw error(field, expected + ", got " + v);
            return v;
        }

        <E extends Enum<E>> Set<E> flags(String field, Class<E> type, E[] all, java.util.function.Function<E, String> key) {
            JsonNode value = get(field);
            if (!value.isObject()) throw error(field, "expected an object of " + all.length + " booleans, got " + shown(value));
            Set<E> set = EnumSet.noneOf(type);
            Set<String> seen = new LinkedHashSet<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                E category = null;
                for (E e : all) if (key.apply(e).equals(entry.getKey())) category = e;
                if (category == null) throw error(field, "unknown category key " + quote(entry.getKey()));
                if (!entry.getValue().isBoolean()) {
                    throw error(field, "key " + quote(entry.getKey()) + ": expected true or false, got " + shown(entry.getValue()));
                }
                seen.add(entry.getKey());
                if (entry.getValue().booleanValue()) set.add(category);
            }
            for (E e : all) {
                if (!seen.contains(key.apply(e))) throw error(field, "missing category key " + quote(key.apply(e)));
            }
            return set;
        }

        private static String shown(JsonNode value) {
            String text = value.toString();
            return text.length() > 60 ? text.substring(0, 57) + "..." : text;
        }
    }
}
