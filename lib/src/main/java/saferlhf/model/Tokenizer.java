package saferlhf.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import saferlhf.data.DialogueRecord;
import saferlhf.data.PromptTemplate;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} through DJL's {@link HuggingFaceTokenizer}, offline, with the reference's
 * conventions: BOS added by the tokenizer's post-processor, the chat template of {@link PromptTemplate}, EOS after a
 * response, LEFT padding for prompts / actors / critics and RIGHT padding for supervised and preference data, and the
 * special tokens {@code <pad> </s> <s> <unk>} added when missing (new ids after the last one; grow the model with
 * {@link CausalLM#resizeTokenEmbeddings(int)} to {@link #vocabSize()}).
 *
 * <p>Added ids assume the vocabulary's ids are contiguous (0 .. n-1), as in every HF tokenizer; load checks it.
 *
 * <p>Which strings are the special tokens comes from {@code tokenizer_config.json} next to the tokenizer.json when it
 * names them (bos_token, eos_token, pad_token, unk_token), else the reference defaults.
 *
 * <p>Two tokenizers are the same ({@link #sameAs}) when they turn text into the same ids and back, the reference's
 * {@code is_same_tokenizer} (same class and same {@code get_vocab()}) read for {@code tokenizer.json} files: see
 * {@link #sameAs} for what is compared. A score model whose tokenizer is not the policy's reads re-tokenized text
 * ({@link Scorer}).
 */
public final class Tokenizer implements AutoCloseable {
    public enum Padding { LEFT, RIGHT }

    /**
     * A padded batch, row-major.
     *
     * @param size          B
     * @param length        L (the longest row after truncation)
     * @param inputIds      B*L ids, pad where the mask is 0
     * @param attentionMask B*L, 1 for tokens, 0 for padding
     */
    public record Batch(int size, int length, long[] inputIds, long[] attentionMask) {
        public NDArray ids(NDManager manager) { return manager.create(inputIds, new Shape(size, length)); }           // (B, L) int64

        public NDArray mask(NDManager manager) { return manager.create(attentionMask, new Shape(size, length)); }     // (B, L) int64

        public long id(int row, int col) { return inputIds[row * length + col]; }

        public long[] row(int row) { return Arrays.copyOfRange(inputIds, row * length, (row + 1) * length); }
    }

    /**
     * A supervised example: the ids of BOS + the templated conversation, and which ids are trained: {@code trained[t]} is
     * false where the reference's labels are IGNORE_INDEX (the header and every user turn with its {@code "ASSISTANT:"}),
     * true on the assistant turns and their EOS.
     */
    public record Sft(long[] ids, boolean[] trained) {}

    public static final String DEFAULT_BOS = "<s>", DEFAULT_EOS = "</s>", DEFAULT_PAD = "<pad>", DEFAULT_UNK = "<unk>";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HuggingFaceTokenizer hf;
    private final String bos, eos, pad, unk;
    private final int bosId, eosId, padId, unkId;
    private final int vocabSize;
    private final int added;
    private final String tokenizerJson; // as loaded, with any added special tokens
    private final Path source;          // the tokenizer.json it was loaded from
    private final String fingerprint;   // SHA-256 of what sameAs compares
    private final String modelType;     // tokenizer.json's model.type: BPE, WordLevel, Unigram, WordPiece

    private Tokenizer(HuggingFaceTokenizer hf, String[] tokens, int[] ids, int vocabSize, int added, String tokenizerJson,
                      Path source, String fingerprint, String modelType) {
        this.hf = hf;
        this.tokenizerJson = tokenizerJson;
        this.source = source;
        this.fingerprint = fingerprint;
        this.modelType = modelType;
        this.bos = tokens[0]; this.eos = tokens[1]; this.pad = tokens[2]; this.unk = tokens[3];
        this.bosId = ids[0]; this.eosId = ids[1]; this.padId = ids[2]; this.unkId = ids[3];
        this.vocabSize = vocabSize;
        this.added = added;
    }

    /** Loads {@code tokenizer.json} (a file, or a folder holding one), adding missing special tokens. */
    public static Tokenizer load(Path fileOrFolder) throws IOException {
        Path file = Files.isDirectory(fileOrFolder) ? fileOrFolder.resolve("tokenizer.json") : fileOrFolder;
        ObjectNode root = saferlhf.util.JsonFiles.readObject(file); // names the file when it is missing or not JSON
        String[] tokens = {DEFAULT_BOS, DEFAULT_EOS, DEFAULT_PAD, DEFAULT_UNK};
        Path configFile = file.resolveSibling("tokenizer_config.json");
        if (Files.isRegularFile(configFile)) {
            JsonNode c = saferlhf.util.JsonFiles.read(configFile);
            String[] keys = {"bos_token", "eos_token", "pad_token", "unk_token"};
            for (int i = 0; i < 4; i++) {
                JsonNode t = c.get(keys[i]);
                if (t != null && t.isTextual()) tokens[i] = t.asText();
                else if (t != null && t.has("content")) tokens[i] = t.get("content").asText();
            }
        }
        // ids already known: model vocabulary and added tokens
        Map<String, Integer> known = new java.util.HashMap<>();
        int maxId = -1;
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                known.put(e.getKey(), e.getValue().asInt());
                maxId = Math.max(maxId, e.getValue().asInt());
            }
        } else if (vocab.isArray()) { // Unigram: [[piece, score], ...]
            for (int i = 0; i < vocab.size(); i++) known.put(vocab.get(i).get(0).asText(), i);
            maxId = vocab.size() - 1;
        }
        ArrayNode addedTokens = root.has("added_tokens") && root.get("added_tokens").isArray()
                ? (ArrayNode) root.get("added_tokens") : root.putArray("added_tokens");
        for (JsonNode t : addedTokens) {
            known.put(t.get("content").asText(), t.get("id").asInt());
            maxId = Math.max(maxId, t.get("id").asInt());
        }
        int[] ids = new int[4];
        int added = 0;
        for (int i = 0; i < 4; i++) {
            Integer id = known.get(tokens[i]);
            if (id == null) { // add as the reference does: a new special token after the last id
                id = ++maxId;
                ObjectNode t = addedTokens.addObject();
                t.put("id", id).put("content", tokens[i]).put("single_word", false).put("lstrip", false)
                        .put("rstrip", false).put("normalized", false).put("special", true);
                known.put(tokens[i], id);
                added++;
            }
            ids[i] = id;
        }
        Map<String, String> options = Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false");
        try { // DJL keeps the failure of extracting or loading the Rust library for this check: not the file's fault
            ai.djl.huggingface.tokenizers.jni.LibUtils.checkStatus();
        } catch (RuntimeException e) {
            throw new IllegalStateException("the Hugging Face tokenizers native library cannot be used here, so " + file
                    + " cannot be read (an installation problem, not the file): " + e.getMessage()
                    + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")"), e);
        }
        HuggingFaceTokenizer hf;
        try {
            if (added == 0) {
                hf = HuggingFaceTokenizer.newInstance(file, options);
            } else {
                Path patched = Files.createTempFile("tokenizer-patched", ".json");
                try {
                    Files.writeString(patched, JSON.writeValueAsString(root));
                    hf = HuggingFaceTokenizer.newInstance(patched, options);
                } finally {
                    Files.deleteIfExists(patched);
                }
            }
        } catch (RuntimeException e) { // the library is loaded (above): valid JSON that it cannot read as a tokenizer
            throw new saferlhf.util.InputError(file, "not a tokenizer the Hugging Face tokenizers library can read: " + e.getMessage(), e);
        }
        for (int i = 0; i < 4; i++) { // HF assigns added tokens the next free id itself: check it agrees
            long[] got = hf.encode(tokens[i], false, false).getIds();
            if (got.length != 1 || got[0] != ids[i]) {
                hf.close();
                throw new saferlhf.util.InputError(file, "special token " + tokens[i] + " encodes to " + Arrays.toString(got) + ", expected ["
                        + ids[i] + "]: the vocabulary's ids are not contiguous");
            }
        }
        return new Tokenizer(hf, tokens, ids, maxId + 1, added, JSON.writeValueAsString(root), file.toAbsolutePath().normalize(),
                fingerprint(root, tokens), root.path("model").path("type").asText("?"));
    }

    /**
     * What {@link #sameAs} compares, hashed: the pipeline that turns text into ids and back (the {@code normalizer},
     * {@code pre_tokenizer}, {@code model} with its type, vocabulary, merges and options, {@code post_processor} and
     * {@code decoder} of tokenizer.json), the added tokens (id, content and flags, in id order, including the special
     * tokens added at load) and which strings are BOS, EOS, pad and UNK. Key order, formatting, the {@code version},
     * {@code truncation} and {@code padding} fields and the merges' spelling ({@code "a b"} or {@code ["a", "b"]}) do
     * not count.
     */
    private static String fingerprint(ObjectNode root, String[] specialTokens) throws IOException {
        ObjectNode identity = JSON.createObjectNode();
        for (String key : List.of("normalizer", "pre_tokenizer", "model", "post_processor", "decoder")) {
            identity.set(key, root.hasNonNull(key) ? root.get(key).deepCopy() : JSON.nullNode());
        }
        JsonNode merges = identity.path("model").path("merges");
        if (merges.isArray()) {
            ArrayNode spelled = JSON.createArrayNode();
            for (JsonNode m : merges) spelled.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
            ((ObjectNode) identity.get("model")).set("merges", spelled);
        }
        List<JsonNode> addedTokens = new ArrayList<>();
        root.path("added_tokens").forEach(addedTokens::add);
        addedTokens.sort(java.util.Comparator.comparingInt(t -> t.get("id").asInt()));
        addedTokens.forEach(identity.putArray("added_tokens")::add);
        ArrayNode roles = identity.putArray("special_tokens");
        for (String t : specialTokens) roles.add(t);
        byte[] canonical = CANONICAL.writeValueAsBytes(identity);
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(canonical));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final ObjectMapper CANONICAL = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.WRITE_PROPERTIES_SORTED).build();

    /**
     * Whether {@code other} turns text into the same ids and back, as the reference's {@code is_same_tokenizer}
     * ({@code tokenizer is other or (same class and tokenizer.get_vocab() == other.get_vocab())}). A tokenizer.json has
     * no class, so "same class" is read as the same pipeline: the normalizer, pre-tokenizer, model (type, vocabulary,
     * merges, options), post-processor and decoder must be equal, and so must the added tokens (the rest of
     * {@code get_vocab()}) and which strings are BOS, EOS, pad and UNK. This is stricter than the reference in one way:
     * two BPE files with the same vocabulary but different merges (or pre-tokenizers) count as different here, since they
     * split the same text differently. Formatting, key order and the file's truncation and padding settings are ignored.
     */
    public boolean sameAs(Tokenizer other) {
        return this == other || fingerprint.equals(other.fingerprint);
    }

    /** The tokenizer.json this tokenizer was loaded from (absolute). */
    public Path source() { return source; }

    /** For messages: the file, the model type and the number of ids, e.g. {@code /m/tokenizer.json (BPE, 32000 ids)}. */
    public String describe() {
        return source + " (" + modelType + ", " + vocabSize + " ids)";
    }

    /**
     * Writes {@code tokenizer.json} (with the special tokens added at load time) and a {@code tokenizer_config.json}
     * naming the special tokens into {@code folder}, atomically, so {@link #load} gives back the same tokenizer.
     */
    public void save(Path folder) throws IOException {
        saferlhf.util.AtomicFiles.writeString(folder.resolve("tokenizer.json"), tokenizerJson + "\n");
        ObjectNode config = JSON.createObjectNode();
        config.put("bos_token", bos).put("eos_token", eos).put("pad_token", pad).put("unk_token", unk);
        saferlhf.util.AtomicFiles.writeString(folder.resolve("tokenizer_config.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config) + "\n");
    }

    // ---- special tokens ------------------------------------------------------------------------------------------

    public int bosId() { return bosId; }
    public int eosId() { return eosId; }
    public int padId() { return padId; }
    public int unkId() { return unkId; }
    public String bosToken() { return bos; }
    public String eosToken() { return eos; }
    public String padToken() { return pad; }
    public String unkToken() { return unk; }

    /** Number of ids (largest id + 1), after any added special tokens: the model's vocab_size. */
    public int vocabSize() { return vocabSize; }

    /** How many special tokens were missing and added at load (new embedding rows the model needs). */
    public int addedTokens() { return added; }

    // ---- encode / decode -----------------------------------------------------------------------------------------

    /** Ids of {@code text}, with BOS (the post-processor's special tokens). */
    public long[] encode(String text) { return encode(text, true); }

    public long[] encode(String text, boolean addSpecialTokens) {
        Encoding e = hf.encode(text, addSpecialTokens, false);
        return e.getIds();
    }

    public String decode(long[] ids, boolean skipSpecialTokens) { return hf.decode(ids, skipSpecialTokens); }

    /** The reference prompt: {@code "BEGINNING OF CONVERSATION: USER: {input} ASSISTANT:"}. */
    public String promptText(String input) { return PromptTemplate.format(input); }

    /** Prompt text, response directly after {@code "ASSISTANT:"}, then the EOS token. */
    public String trainingText(String input, String response) { return PromptTemplate.format(input) + response + eos; }

    /**
     * BOS + template(input), at most {@code maxLength} ids. A longer prompt loses its oldest ids after BOS, so the
     * template's {@code ASSISTANT:} turn at its end is always kept (the reference cuts prompts from the end, which
     * removes it: the policy would then continue the user's text instead of answering).
     */
    public long[] encodePrompt(String input, int maxLength) {
        return encodeKeepingEnd(promptText(input), maxLength);
    }

    /**
     * A prompt already in the template (a whole dialogue, say), cut as {@link #encodePrompt} cuts one: when longer than
     * {@code maxLength}, its oldest ids after BOS are dropped, so the closing assistant turn is kept.
     */
    public long[] encodeKeepingEnd(String text, int maxLength) {
        if (maxLength < 2) throw new IllegalArgumentException("a prompt needs at least 2 ids, got a budget of " + maxLength);
        long[] ids = encode(text);
        if (ids.length <= maxLength) return ids;
        int head = ids[0] == bosId ? 1 : 0;                     // keep BOS
        long[] kept = new long[maxLength];
        System.arraycopy(ids, 0, kept, 0, head);
        System.arraycopy(ids, ids.length - (maxLength - head), kept, head, maxLength - head);
        return kept;
    }

    /** Whether {@link #encodePrompt} cuts this prompt's oldest ids to fit {@code maxLength}. */
    public boolean promptExceeds(String input, int maxLength) { return encode(promptText(input)).length > maxLength; }

    /** BOS + template(input) + response + EOS, truncated to {@code maxLength}: the dialogue of two turns. */
    public Sft encodeSft(String input, String response, int maxLength) {
        return encodeDialogue(new DialogueRecord(List.of(input, response)), maxLength);
    }

    /**
     * A dialogue (user, assistant, ..., assistant) as the reference's {@code SupervisedDataset}: the text grows turn by turn,
     * {@code "USER: {turn} ASSISTANT:"} for a user turn and {@code "{turn}</s>"} for an assistant turn after
     * {@code PROMPT_BEGIN}; {@code offsets[i]} is the number of ids of the text after i turns (truncated to
     * {@code maxLength}), and the ids in {@code [offsets[2k], offsets[2k+1])} (the header or the end of an assistant turn up
     * to the next {@code "ASSISTANT:"}) are not trained. The ids are those of the whole text, truncated to {@code maxLength}.
     */
    public Sft encodeDialogue(DialogueRecord dialogue, int maxLength) {
        List<String> turns = dialogue.turns();
        int[] offsets = new int[turns.size() + 1];
        long[] ids = null;
        for (int i = 0; i < turns.size(); i++) {
            String text = i % 2 == 0 ? PromptTemplate.format(turns.subList(0, i + 1), eos)
                    : PromptTemplate.format(turns.subList(0, i), eos) + turns.get(i) + eos;
            ids = truncate(encode(text), maxLength);
            offsets[i + 1] = ids.length;
        }
        boolean[] trained = new boolean[ids.length];
        Arrays.fill(trained, true); // labels = input_ids.clone()
        // for begin, end in zip(offsets[::2], offsets[1::2]): labels[begin:end] = IGNORE_INDEX
        for (int k = 0; k < turns.size(); k += 2) {
            int begin = Math.min(offsets[k], ids.length), end = Math.min(offsets[k + 1], ids.length); // as Python slices
            if (begin < end) Arrays.fill(trained, begin, end, false);
        }
        return new Sft(ids, trained);
    }

    /** Encodes and pads texts (each with BOS) to the longest row, truncating rows to {@code maxLength}. */
    public Batch encodeBatch(List<String> texts, int maxLength, Padding side) {
        List<long[]> rows = new ArrayList<>(texts.size());
        for (String t : texts) rows.add(encode(t));
        return pad(rows, maxLength, side);
    }

    /** Pads id rows to the longest row (after truncating each to {@code maxLength}) with {@link #padId()}. */
    public Batch pad(List<long[]> rows, int maxLength, Padding side) {
        return pad(rows, maxLength, side, padId);
    }

    public static Batch pad(List<long[]> rows, int maxLength, Padding side, long padId) {
        if (rows.isEmpty()) throw new IllegalArgumentException("empty batch");
        int length = 0;
        for (long[] r : rows) length = Math.max(length, Math.min(r.length, maxLength));
        int size = rows.size();
        long[] ids = new long[size * length];
        long[] mask = new long[size * length];
        Arrays.fill(ids, padId);
        for (int b = 0; b < size; b++) {
            long[] r = truncate(rows.get(b), maxLength);
            int offset = b * length + (side == Padding.LEFT ? length - r.length : 0);
            System.arraycopy(r, 0, ids, offset, r.length);
            Arrays.fill(mask, offset, offset + r.length, 1L);
        }
        return new Batch(size, length, ids, mask);
    }

    private static long[] truncate(long[] ids, int maxLength) {
        if (maxLength <= 0) throw new IllegalArgumentException("max length must be > 0");
        return ids.length <= maxLength ? ids : Arrays.copyOf(ids, maxLength);
    }

    @Override
    public void close() { hf.close(); }
}
