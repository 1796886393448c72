package saferlhf.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.model.ModelConfig;
import saferlhf.model.Tokenizer;
import saferlhf.train.Models;

/** {@code saferlhf data tokenizer byte-level}: one token per byte, so BeaverWorld's texts are as long as their bytes. */
class TokenizerCommandTest {
    @Test
    void theByteLevelTokenizerMakesOneTokenOfEveryByte(@TempDir Path dir) throws Exception {
        CliErrorsTest.Result r = CliErrorsTest.run("data", "tokenizer", "byte-level", "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer_config.json")));
        try (Tokenizer tokenizer = Tokenizer.load(dir)) {
            assertEquals(258, tokenizer.vocabSize(), "256 bytes, <|endoftext|>, and the kit's <pad>");
            String text = "BEGINNING OF CONVERSATION: USER: how can i grow tomatoes quickly ? ASSISTANT:sure . caf\u00e9 .";
            long[] ids = tokenizer.encode(text, false);
            assertEquals(text.getBytes(StandardCharsets.UTF_8).length, ids.length, "one token per UTF-8 byte (the e-acute is two)");
            assertEquals(text, tokenizer.decode(ids, true));
            long[] sft = tokenizer.encodeSft("how can i grow tomatoes quickly ?", "sure .", 256).ids();
            assertEquals(tokenizer.eosId(), sft[sft.length - 1]);

            // the 113M preset sized to it: 113,265,408 parameters in the blocks and the final norm, 2 x 258 x 768 in the
            // embedding and the untied LM head
            ModelConfig preset = Models.preset("preset:llama-113m", tokenizer.vocabSize());
            assertEquals(List.of(768, 12, 12, 12, 3072), List.of(preset.hiddenSize(), preset.numLayers(), preset.numHeads(),
                    preset.numKvHeads(), preset.intermediateSize()));
            assertEquals(113_265_408L + 2L * 258 * 768, preset.parameterCount());
        }
        assertEquals(2, CliErrorsTest.run("data", "tokenizer", "word-level", "--out", dir.toString()).code());
    }
}
