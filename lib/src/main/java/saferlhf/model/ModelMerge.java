package saferlhf.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import saferlhf.util.InputError;

/**
 * Linear weight merging of two models of one architecture (mergekit's {@code linear} method), as P-SACPO merges the
 * helpfulness-DPO policy with the SACPO policy (Wachi et al. 2024, arXiv 2404.11049; the official repository's
 * {@code config/merge/*.yaml}):
 * <pre>
 * theta = (1 - q) * theta_a + q * theta_b        for every parameter tensor
 * </pre>
 * The merged model is written as a model folder with model a's tokenizer. It holds model a and the merged copy in the
 * Java heap (fine for BeaverWorld's and 100M-parameter models; a 7B model needs a streaming merge, not done).
 */
public final class ModelMerge {
    private ModelMerge() {}

    /** Writes (1 - q) * a + q * b into {@code out}; the two folders must hold the same architecture. */
    public static void linear(Path a, Path b, double q, Path out) throws IOException {
        if (!(q >= 0 && q <= 1)) throw new IllegalArgumentException("the merge weight q must be in [0, 1], got " + q);
        ModelConfig configA = ModelFiles.check(a), configB = ModelFiles.check(b);
        if (!configA.equals(configB)) {
            throw new InputError(b, "not the architecture of " + a + " (config.json differs): only models of one architecture merge");
        }
        try (CausalLM model = ModelFiles.loadCausalLM(a, ai.djl.Device.cpu());
             Tokenizer tokenizer = Tokenizer.load(ModelFiles.tokenizerFolder(a))) {
            Map<String, HostTensor> weightsB = ModelFiles.readWeights(b);
            Map<String, HostTensor> merged = new LinkedHashMap<>();
            model.toHost().forEach((name, tensorA) -> {
                HostTensor tensorB = weightsB.get(name);
                if (tensorB == null) throw new InputError(b, "has no tensor " + name);
                float[] x = tensorA.data(), y = tensorB.data(), z = new float[x.length];
                for (int i = 0; i < z.length; i++) z[i] = (float) ((1 - q) * x[i] + q * y[i]);
                merged.put(name, new HostTensor(z, tensorA.shape()));
            });
            model.loadNamedParameters(merged);
            ModelFiles.save(model, tokenizer, out);
        }
    }
}
