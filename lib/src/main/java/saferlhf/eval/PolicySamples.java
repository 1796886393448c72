package saferlhf.eval;

import ai.djl.Device;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import saferlhf.data.PromptRecord;
import saferlhf.data.SftRecord;
import saferlhf.model.CausalLM;
import saferlhf.model.Generation;
import saferlhf.model.ModelFiles;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;

/**
 * Responses of a policy to a prompt set: the prompts are wrapped in the reference's template, left-padded in batches
 * and generated with the KV cache. The response text is what follows {@code ASSISTANT:}, special tokens removed.
 */
public final class PolicySamples {
    private PolicySamples() {}

    /**
     * One generated response.
     *
     * @param endedWithEos whether the policy stopped with EOS before {@code maxNewTokens}
     * @param tokens       generated tokens, EOS included
     * @param ids          the prompt's ids, then the generated ids as generated (EOS included when generated); null for
     *                     a sample held as text only
     */
    public record Sample(PromptRecord prompt, String response, boolean endedWithEos, int tokens, long[] ids) {
        /** A sample held as text only (read back from a file, or written by hand). */
        public Sample(PromptRecord prompt, String response, boolean endedWithEos, int tokens) {
            this(prompt, response, endedWithEos, tokens, null);
        }
    }

    /** Loads the policy in {@code policyFolder}, generates one response per prompt, and closes it. */
    public static List<Sample> generate(Path policyFolder, Device device, Tokenizer tokenizer, List<PromptRecord> prompts,
                                        Generation.Config generation, int batchSize, int maxPromptLength) throws IOException {
        try (CausalLM policy = ModelFiles.loadCausalLM(policyFolder, device)) {
            return generate(policy, tokenizer, prompts, generation, batchSize, maxPromptLength);
        }
    }

    /**
     * Generates one response per prompt, up to {@code generation.maxNewTokens()} tokens.
     *
     * @param maxPromptLength a longer prompt loses its oldest tokens after BOS, keeping the template's assistant turn
     *                        ({@link Tokenizer#encodePrompt})
     */
    public static List<Sample> generate(CausalLM policy, Tokenizer tokenizer, List<PromptRecord> prompts,
                                        Generation.Config generation, int batchSize, int maxPromptLength) {
        return generate(policy, tokenizer, prompts, generation, batchSize, maxPromptLength, Integer.MAX_VALUE);
    }

    /**
     * Generates one response per prompt, as the reference's {@code generate(max_length=maxLength)}: each batch stops at
     * {@code maxLength} tokens, its left-padded prompts included, or at {@code generation.maxNewTokens()} if sooner.
     *
     * @param maxPromptLength at most {@code maxLength - 1}: a longer prompt loses its oldest tokens after BOS
     */
    public static List<Sample> generate(CausalLM policy, Tokenizer tokenizer, List<PromptRecord> prompts,
                                        Generation.Config generation, int batchSize, int maxPromptLength, int maxLength) {
        if (maxPromptLength >= maxLength) {
            throw new IllegalArgumentException("the prompt budget (" + maxPromptLength + ") leaves no room to answer in " + maxLength + " tokens");
        }
        List<Sample> samples = new ArrayList<>(prompts.size());
        for (int from = 0; from < prompts.size(); from += batchSize) {
            List<PromptRecord> chunk = prompts.subList(from, Math.min(prompts.size(), from + batchSize));
            List<long[]> rows = new ArrayList<>();
            for (PromptRecord p : chunk) rows.add(tokenizer.encodePrompt(p.prompt(), maxPromptLength));
            Tokenizer.Batch batch = tokenizer.pad(rows, maxPromptLength, Tokenizer.Padding.LEFT);
            // a different seed per batch, derived from the configured one, so batches do not share their draws
            int newTokens = (int) Math.min(generation.maxNewTokens(), (long) maxLength - batch.length());
            Generation.Config config = new Generation.Config(newTokens, generation.doSample(),
                    generation.temperature(), generation.topK(), generation.topP(), generation.repetitionPenalty(),
                    generation.seed() * 31 + from);
            Generation.Output output = Generation.generate(policy, batch, config, tokenizer);
            for (int b = 0; b < chunk.size(); b++) {
                long[] response = output.response(b, tokenizer.padId());
                boolean eos = Arrays.stream(response).anyMatch(t -> t == tokenizer.eosId());
                long[] ids = java.util.stream.LongStream.concat(Arrays.stream(rows.get(b)), Arrays.stream(response)).toArray();
                samples.add(new Sample(chunk.get(b), tokenizer.decode(response, true).strip(), eos, response.length, ids));
            }
        }
        return samples;
    }

    /**
     * End scores of the samples, as the reference's arena scores them: the ids as generated (an answer cut at the budget
     * gets no EOS added), re-tokenized only for a scorer with another tokenizer than the policy's ({@link Scorer#input});
     * a sample held as text only is read as (prompt, response) text. For a cost model, cost &gt; 0 means unsafe.
     *
     * @param maxLength text-only samples are cut to this many ids
     */
    public static float[] endScores(List<Sample> samples, Tokenizer policy, Scorer scorer, int batchSize, int maxLength) {
        float[] scores = new float[samples.size()];
        for (int from = 0; from < samples.size(); from += batchSize) {
            List<Sample> chunk = samples.subList(from, Math.min(samples.size(), from + batchSize));
            float[] part;
            if (chunk.stream().allMatch(s -> s.ids() != null)) {
                Tokenizer.Batch sequences = policy.pad(chunk.stream().map(Sample::ids).toList(), Integer.MAX_VALUE, Tokenizer.Padding.RIGHT);
                part = scorer.endScores(policy, sequences);
            } else {
                part = scorer.endScores(chunk.stream().map(s -> new SftRecord(s.prompt().prompt(), s.response())).toList(), batchSize, maxLength);
            }
            System.arraycopy(part, 0, scores, from, part.length);
        }
        return scores;
    }
}
