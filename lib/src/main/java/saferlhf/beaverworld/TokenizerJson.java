package saferlhf.beaverworld;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} for a word-level vocabulary: the {@code WordLevel} model with the
 * {@code Whitespace} pre-tokenizer (it splits {@code \w+|[^\w\s]+}, so {@code "ASSISTANT:sure"} becomes
 * {@code ASSISTANT : sure}), the special tokens {@code <pad> <s> </s> <unk>} and a post-processor that prepends
 * {@code <s>} when special tokens are added, as LLaMA tokenizers do. Loading it through DJL's Hugging Face tokenizers
 * is the same code path as a real model's tokenizer.
 */
public final class TokenizerJson {
    private TokenizerJson() {}

    /** The JSON text (pretty-printed, keys in a fixed order, ending with a newline). */
    public static String wordLevel(List<String> vocabulary, List<String> specialTokens, String bosToken, String unkToken) {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        Map<String, Integer> ids = new java.util.LinkedHashMap<>();
        vocabulary.forEach(word -> ids.putIfAbsent(word, ids.size()));
        if (ids.size() != vocabulary.size()) throw new IllegalArgumentException("vocabulary has duplicate words");

        ObjectNode root = mapper.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String token : specialTokens) {
            ObjectNode node = added.addObject();
            node.put("id", requireId(ids, token));
            node.put("content", token);
            node.put("single_word", false);
            node.put("lstrip", false);
            node.put("rstrip", false);
            node.put("normalized", false);
            node.put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "Whitespace");

        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", bosToken).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", bosToken).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject(bosToken);
        bos.put("id", bosToken);
        bos.putArray("ids").add(requireId(ids, bosToken));
        bos.putArray("tokens").add(bosToken);

        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocab = model.putObject("vocab");
        ids.forEach(vocab::put);
        model.put("unk_token", unkToken);
        try {
            return mapper.writeValueAsString(root) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** BeaverWorld's tokenizer: {@link BeaverWorld#vocabulary()} with {@code <s>} as BOS and {@code <unk>} as UNK. */
    public static String beaverWorld() {
        return wordLevel(BeaverWorld.vocabulary(), BeaverWorld.SPECIAL_TOKENS, "<s>", "<unk>");
    }

    private static int requireId(Map<String, Integer> ids, String token) {
        Integer id = ids.get(token);
        if (id == null) throw new IllegalArgumentException("special token " + token + " is not in the vocabulary");
        return id;
    }
}
