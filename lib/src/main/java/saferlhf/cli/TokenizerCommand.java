package saferlhf.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import saferlhf.KitPaths;
import saferlhf.model.ByteLevelBpe;
import saferlhf.model.Tokenizer;

/**
 * {@code saferlhf data tokenizer byte-level --out DIR}: writes a byte-level BPE {@code tokenizer.json} (GPT-2's byte
 * symbols, no merges: one token per byte) and GPT-2's {@code tokenizer_config.json}, for runs whose sequences should
 * be as long as a real byte-level tokenizer makes them ({@code environment/size-check.sh}).
 */
@Command(name = "tokenizer", mixinStandardHelpOptions = true,
        description = "Write a tokenizer.json folder: byte-level (GPT-2's 256 byte symbols, no merges, <|endoftext|>).")
public final class TokenizerCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "the kind: byte-level")
    String kind;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (!kind.equals("byte-level")) {
            System.err.println("error: unknown tokenizer kind '" + kind + "' (available: byte-level)");
            return 2;
        }
        Path folder = ByteLevelBpe.write(KitPaths.resolve(out.toString()), ByteLevelBpe.tokenizerJson(List.of()),
                ByteLevelBpe.GPT2_CONFIG);
        try (Tokenizer tokenizer = Tokenizer.load(folder)) {
            System.out.printf("byte-level BPE tokenizer written to %s: %d ids (256 bytes, <|endoftext|>, and the kit's "
                    + "additions when loaded)%n", folder, tokenizer.vocabSize());
        }
        return 0;
    }
}
