package saferlhf.model;

import ai.djl.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/** Tokens/s of a training step; run with {@code mvn -o test -Dtest=TrainStepBenchmark -Dbench=true}. */
@EnabledIfSystemProperty(named = "bench", matches = "true")
class TrainStepBenchmark {
    static { ModelTesting.class.getName(); }

    @Test
    void tinyLlama() throws Exception {
        for (String preset : new String[] {"tiny", "gpt2", "10M"}) {
            try (Tokenizer tok = ModelTesting.beaverTokenizer()) {
                ModelConfig c = switch (preset) {
                    case "tiny" -> ModelConfig.tinyLlama(tok.vocabSize());
                    case "gpt2" -> ModelConfig.tinyGpt2(tok.vocabSize());
                    default -> ModelConfig.llama10M(tok.vocabSize());
                };
                try (CausalLM lm = CausalLM.create(c, Device.cpu(), 1);
                     AdamW opt = new AdamW(lm.namedParameters(), AdamW.Config.reference(0.01))) {
                    TrainingRun.Data data = TrainingRun.data(tok, 16);
                    long tokens = (long) data.batch().size() * data.batch().length();
                    for (int i = 0; i < 3; i++) TrainingRun.step(lm, opt, data, 1e-3, 1.0);
                    int n = 10;
                    long t0 = System.nanoTime();
                    for (int i = 0; i < n; i++) TrainingRun.step(lm, opt, data, 1e-3, 1.0);
                    double s = (System.nanoTime() - t0) / 1e9 / n;
                    System.out.printf("BENCH %s params=%d batch=%dx%d step=%.1f ms tokens/s=%.0f%n", preset, lm.parameterCount(),
                            data.batch().size(), data.batch().length(), s * 1000, tokens / s);
                }
            }
        }
    }
}
