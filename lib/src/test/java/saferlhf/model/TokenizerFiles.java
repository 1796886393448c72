package saferlhf.model;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code tokenizer.json} files of the two families real checkpoints ship, built in code for tests (the same fields as
 * the files Hugging Face writes, with a vocabulary grown from a word list instead of a trained one):
 * <ul>
 *   <li>{@link #byteLevelBpe} (GPT-2, Qwen2): the {@code ByteLevel} pre-tokenizer, post-processor and decoder; BPE over
 *       the 256 byte symbols of GPT-2's {@code bytes_to_unicode} ({@code Ġ} is the space), so any text encodes; no
 *       BOS is added; {@code <|endoftext|>} is the one special token.</li>
 *   <li>{@link #sentencePieceBpe} (LLaMA, Mistral): the {@code Metaspace} pre-tokenizer ({@code ▁} for the space, one
 *       prepended to the first word); BPE with {@code byte_fallback} over {@code <0x00>..<0xFF>} (a character outside
 *       the vocabulary becomes its UTF-8 bytes); {@code <unk>} 0, {@code <s>} 1, {@code </s>} 2; a
 *       {@code TemplateProcessing} post-processor that prepends {@code <s>}; LLaMA's decoder ({@code ▁} back to a
 *       space, {@code ByteFallback}, {@code Fuse}, and {@code Strip} of the one space the pre-tokenizer prepended).
 *       (A {@code Metaspace} decoder after {@code Fuse} would drop every space: it drops the replacement character
 *       throughout the first token.)</li>
 * </ul>
 * Merges: each word is built left to right ({@code "h e"}, {@code "he l"}, ...), so a listed word becomes one token
 * where BPE's merge order allows; words are given with their leading space ({@code " can"}) where they follow one.
 */
public final class TokenizerFiles {
    private TokenizerFiles() {}

    /** GPT-2's tokenizer_config.json: {@code <|endoftext|>} is BOS, EOS and UNK; no pad token (the kit adds one). */
    public static final String GPT2_CONFIG = ByteLevelBpe.GPT2_CONFIG;
    /** Qwen2's: no BOS, no UNK (the kit adds {@code <s>} and {@code <unk>}), {@code <|endoftext|>} is EOS and pad. */
    public static final String QWEN2_CONFIG = "{\"bos_token\": null, \"eos_token\": \"<|endoftext|>\", "
            + "\"pad_token\": \"<|endoftext|>\", \"unk_token\": null}";
    /** Only EOS named: BOS, pad and UNK are the kit's defaults, added as new tokens. */
    public static final String EOS_ONLY_CONFIG = "{\"eos_token\": \"<|endoftext|>\"}";

    /** The words of BeaverWorld's vocabulary, each alone and after a space: one token per word in both families. */
    public static List<String> beaverWorldWords() {
        List<String> words = new ArrayList<>();
        for (String w : saferlhf.beaverworld.BeaverWorld.vocabulary()) {
            if (w.startsWith("<")) continue;
            words.add(w);
            words.add(" " + w);
        }
        return words;
    }

    /** A byte-level BPE tokenizer.json (GPT-2 / Qwen2 family) whose merges build {@code words} ({@link ByteLevelBpe}). */
    public static String byteLevelBpe(List<String> words) {
        return ByteLevelBpe.tokenizerJson(words);
    }

    /** A SentencePiece-style BPE tokenizer.json (LLaMA / Mistral family) whose merges build {@code words}. */
    public static String sentencePieceBpe(List<String> words) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String t : List.of("<unk>", "<s>", "</s>")) vocab.put(t, vocab.size());
        for (int b = 0; b < 256; b++) vocab.put(String.format("<0x%02X>", b), vocab.size());
        List<String> merges = new ArrayList<>();
        List<List<String>> split = new ArrayList<>();
        for (String word : words) { // the pieces are characters; characters of the words are in the vocabulary
            List<String> pieces = new ArrayList<>();
            word.replace(' ', '\u2581').codePoints().forEach(c -> pieces.add(new String(Character.toChars(c))));
            pieces.forEach(p -> vocab.putIfAbsent(p, vocab.size()));
            split.add(pieces);
        }
        vocab.putIfAbsent("\u2581", vocab.size());
        for (List<String> pieces : split) ByteLevelBpe.chain(pieces, vocab, merges);
        ObjectNode root = ByteLevelBpe.header();
        ArrayNode added = root.putArray("added_tokens");
        ByteLevelBpe.addSpecial(added, 0, "<unk>");
        ByteLevelBpe.addSpecial(added, 1, "<s>");
        ByteLevelBpe.addSpecial(added, 2, "</s>");
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Metaspace").put("replacement", "\u2581").put("prepend_scheme", "first").put("split", false);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(1);
        bos.putArray("tokens").add("<s>");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        ObjectNode replace = decoders.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", "\u2581");
        replace.put("content", " ");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", "<unk>");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("ignore_merges", false);
        vocab.forEach(model.putObject("vocab")::put);
        merges.forEach(model.putArray("merges")::add);
        return ByteLevelBpe.text(root);
    }

    /** Writes {@code tokenizer.json} (and {@code tokenizer_config.json} unless null) into {@code folder}. */
    public static Path write(Path folder, String tokenizerJson, String tokenizerConfig) throws IOException {
        return ByteLevelBpe.write(folder, tokenizerJson, tokenizerConfig);
    }
}
