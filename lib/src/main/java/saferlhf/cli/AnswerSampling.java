package saferlhf.cli;

import picocli.CommandLine.Option;
import saferlhf.model.Device;
import saferlhf.model.Generation;
import saferlhf.util.InputError;

/** How {@code chat} and {@code serve} draw answers: token budgets, sampling, seed, device (a picocli mixin). */
final class AnswerSampling {
    @Option(names = "--max-length", description = "prompt and answer tokens together, cut to each model's context (default: ${DEFAULT-VALUE})")
    int maxLength = 512;

    @Option(names = "--max-new-tokens", description = "answer tokens at most (default: 128, at most half of the model's context)")
    Integer maxNewTokens;

    @Option(names = "--temperature", description = "sampling temperature (default: ${DEFAULT-VALUE})")
    double temperature = 1.0;

    @Option(names = "--top-k", description = "sample among the k most likely tokens; 0: all (default: ${DEFAULT-VALUE}, "
            + "Hugging Face's default, which the reference keeps)")
    int topK = Generation.Config.HF_DEFAULT_TOP_K;

    @Option(names = "--top-p", description = "nucleus sampling: the smallest set of tokens with this much probability (default: ${DEFAULT-VALUE})")
    double topP = 1.0;

    @Option(names = "--repetition-penalty", description = "Hugging Face's repetition penalty; 1: none (default: ${DEFAULT-VALUE})")
    double repetitionPenalty = 1.0;

    @Option(names = "--greedy", description = "greedy decoding instead of sampling")
    boolean greedy;

    @Option(names = "--seed", description = "seed of the first answer; each later answer takes the next (default: ${DEFAULT-VALUE})")
    long seed = 42;

    @Option(names = "--device", description = "cpu, gpu, gpu:N or auto (default: ${DEFAULT-VALUE})")
    String device = "auto";

    /** The sampling asked for, answers of up to {@code answerTokens} tokens; bad values refused with the options named. */
    Generation.Config config(int answerTokens) {
        if (maxLength < 2) throw new InputError("--max-length must be >= 2, got " + maxLength);
        if (maxNewTokens != null && maxNewTokens < 1) throw new InputError("--max-new-tokens must be >= 1, got " + maxNewTokens);
        if (greedy) return Generation.Config.greedy(answerTokens);
        try {
            return new Generation.Config(answerTokens, true, temperature, topK, topP, repetitionPenalty, seed);
        } catch (IllegalArgumentException e) {
            throw new InputError("--temperature, --top-k, --top-p, --repetition-penalty: " + e.getMessage());
        }
    }

    /** Answer tokens for a model whose (cut) context is {@code context}: {@code --max-new-tokens}, or 128 but at most half. */
    int answerTokens(int context) {
        return maxNewTokens != null ? maxNewTokens : saferlhf.eval.Chat.defaultAnswerTokens(context);
    }

    ai.djl.Device device() { return Device.parse(device); }
}
