package saferlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Loading named host tensors into a model's parameter map, with clear errors. */
final class Weights {
    private Weights() {}

    /**
     * Replaces every parameter named by {@code specs} with the tensor of the same HF name (or an alias) in {@code weights}.
     *
     * @return the names in {@code weights} that no spec used (buffers such as {@code attn.masked_bias}, tied heads, ...)
     * @throws IllegalArgumentException listing every missing tensor and every shape mismatch
     */
    static List<String> load(Map<String, NDArray> target, List<WeightSpec> specs, Map<String, HostTensor> weights,
            NDManager manager, boolean trainable) {
        List<String> missing = new ArrayList<>();
        List<String> badShape = new ArrayList<>();
        Set<String> used = new HashSet<>();
        for (WeightSpec spec : specs) {
            String found = weights.containsKey(spec.hfName()) ? spec.hfName() : null;
            for (String alias : spec.aliases()) if (found == null && weights.containsKey(alias)) found = alias;
            if (found == null) {
                if (!spec.optional()) missing.add(spec.hfName());
                continue;
            }
            HostTensor t = weights.get(found);
            if (!Arrays.equals(t.shape(), spec.shape())) {
                badShape.add(found + " " + Arrays.toString(t.shape()) + " (expected " + Arrays.toString(spec.shape()) + ")");
            }
            used.add(found);
        }
        if (!missing.isEmpty() || !badShape.isEmpty()) {
            StringBuilder b = new StringBuilder("cannot load weights:");
            if (!missing.isEmpty()) b.append(" missing ").append(missing.size()).append(' ').append(missing);
            if (!badShape.isEmpty()) b.append(" wrong shape ").append(badShape);
            throw new IllegalArgumentException(b.toString());
        }
        for (WeightSpec spec : specs) {
            String found = weights.containsKey(spec.hfName()) ? spec.hfName() : null;
            for (String alias : spec.aliases()) if (found == null && weights.containsKey(alias)) found = alias;
            if (found == null) continue;
            HostTensor t = weights.get(found);
            NDArray fresh = manager.create(t.data(), new Shape(t.shape()));
            fresh.setRequiresGradient(trainable);
            NDArray old = target.put(spec.hfName(), fresh);
            if (old != null) old.close();
        }
        List<String> unused = new ArrayList<>();
        for (String name : weights.keySet()) if (!used.contains(name)) unused.add(name);
        return unused;
    }

    /**
     * Grows a (V, H) matrix to (newV, H), new rows = mean of the existing rows (safe_rlhf.models.pretrained
     * resize_tokenizer_embedding).
     */
    static NDArray growRows(NDArray w, int newRows, NDManager manager) {
        long rows = w.getShape().get(0), cols = w.getShape().get(1);
        float[] old = w.toFloatArray();
        float[] grown = Arrays.copyOf(old, Math.toIntExact(newRows * cols));
        double[] mean = new double[(int) cols];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) mean[c] += old[(int) (r * cols + c)];
        for (int c = 0; c < cols; c++) mean[c] /= rows;
        for (long r = rows; r < newRows; r++) for (int c = 0; c < cols; c++) grown[(int) (r * cols + c)] = (float) mean[c];
        return manager.create(grown, new Shape(newRows, cols));
    }
}
