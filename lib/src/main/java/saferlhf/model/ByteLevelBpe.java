package saferlhf.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A byte-level BPE {@code tokenizer.json} of the GPT-2 / Qwen2 family, built in code (the fields Hugging Face writes,
 * with merges given as words instead of trained): the {@code ByteLevel} pre-tokenizer, post-processor and decoder;
 * BPE over the 256 byte symbols of GPT-2's {@code bytes_to_unicode} ({@code Ġ} is the space), so any text encodes;
 * {@code <|endoftext|>} is the one special token, and no BOS is added by the post-processor.
 *
 * <p>With no merges every byte is one token, so a text of n ASCII characters is n tokens: the sequence lengths of a
 * real byte-level tokenizer's worst case, which is what {@code environment/size-check.sh} needs to reach a preset's
 * {@code max_length} on BeaverWorld's short texts ({@code saferlhf data tokenizer byte-level --out DIR}).
 *
 * <p>Merges: each word is built left to right ({@code "h e"}, {@code "he l"}, ...), so a listed word becomes one token
 * where BPE's merge order allows; words are given with their leading space ({@code " can"}) where they follow one.
 */
public final class ByteLevelBpe {
    private ByteLevelBpe() {}

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** GPT-2's tokenizer_config.json: {@code <|endoftext|>} is BOS, EOS and UNK; no pad token (the kit adds one). */
    public static final String GPT2_CONFIG = "{\"bos_token\": \"<|endoftext|>\", \"eos_token\": \"<|endoftext|>\", "
            + "\"unk_token\": \"<|endoftext|>\"}";

    /** GPT-2's byte to symbol map: printable bytes map to themselves, the others to U+0100 on. */
    public static String[] byteSymbols() {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) bs.add(b);
        for (int b = 0xA1; b <= 0xAC; b++) bs.add(b);
        for (int b = 0xAE; b <= 0xFF; b++) bs.add(b);
        String[] symbols = new String[256];
        for (int b : bs) symbols[b] = String.valueOf((char) b);
        int n = 0;
        for (int b = 0; b < 256; b++) if (symbols[b] == null) symbols[b] = String.valueOf((char) (256 + n++));
        return symbols;
    }

    /** The tokenizer.json text: the 256 byte symbols, merges that build {@code words}, then {@code <|endoftext|>}. */
    public static String tokenizerJson(List<String> words) {
        String[] symbols = byteSymbols();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<String> order = new ArrayList<>(); // GPT-2's order: the printable bytes first
        for (int b = '!'; b <= '~'; b++) order.add(symbols[b]);
        for (int b = 0xA1; b <= 0xAC; b++) order.add(symbols[b]);
        for (int b = 0xAE; b <= 0xFF; b++) order.add(symbols[b]);
        for (int b = 0; b < 256; b++) if (!order.contains(symbols[b])) order.add(symbols[b]);
        order.forEach(s -> vocab.put(s, vocab.size()));
        List<String> merges = new ArrayList<>();
        for (String word : words) {
            List<String> pieces = new ArrayList<>();
            for (byte b : word.getBytes(StandardCharsets.UTF_8)) pieces.add(symbols[b & 0xff]);
            chain(pieces, vocab, merges);
        }
        ObjectNode root = header();
        addSpecial(root.putArray("added_tokens"), vocab.size(), "<|endoftext|>");
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel(false));
        root.set("post_processor", byteLevel(true));
        root.set("decoder", byteLevel(true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        vocab.put("<|endoftext|>", vocab.size());
        vocab.forEach(model.putObject("vocab")::put);
        merges.forEach(model.putArray("merges")::add);
        return text(root);
    }

    /** Writes {@code tokenizer.json} (and {@code tokenizer_config.json} unless null) into {@code folder}. */
    public static Path write(Path folder, String tokenizerJson, String tokenizerConfig) throws IOException {
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("tokenizer.json"), tokenizerJson);
        if (tokenizerConfig != null) Files.writeString(folder.resolve("tokenizer_config.json"), tokenizerConfig);
        return folder;
    }

    /** Merges that build {@code pieces} left to right, each new piece added to the vocabulary. */
    static void chain(List<String> pieces, Map<String, Integer> vocab, List<String> merges) {
        String current = pieces.get(0);
        for (int i = 1; i < pieces.size(); i++) {
            String next = current + pieces.get(i);
            if (!vocab.containsKey(next)) {
                vocab.put(next, vocab.size());
                merges.add(current + " " + pieces.get(i));
            }
            current = next;
        }
    }

    static ObjectNode header() {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        return root;
    }

    static void addSpecial(ArrayNode added, int id, String content) {
        added.addObject().put("id", id).put("content", content).put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", false).put("special", true);
    }

    private static ObjectNode byteLevel(boolean trimOffsets) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", trimOffsets).put("use_regex", true);
        return n;
    }

    static String text(ObjectNode root) {
        try {
            return JSON.writeValueAsString(root) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
