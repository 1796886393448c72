package saferlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

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
            long[] shape = LazyTensors.shape(weights, found);
            if (!Arrays.equals(shape, spec.shape())) {
                badShape.add(found + " " + Arrays.toString(shape) + " (expected " + Arrays.toString(spec.shape()) + ")");
            }
            used.add(found);
        }
        if (!missing.isEmpty() || !badShape.isEmpty()) {
            StringBuilder b = new StringBuilder("cannot load weights:");
            if (!missing.isEmpty()) b.append(" missing ").append(missing.size()).append(' ').append(missing);
            if (!badShape.isEmpty()) b.append(" wrong shape ").append(badShape);
            throw new IllegalArgumentException(b.toString());
        }
        Staging staging = new Staging();
        for (WeightSpec spec : specs) {
            String found = weights.containsKey(spec.hfName()) ? spec.hfName() : null;
            for (String alias : spec.aliases()) if (found == null && weights.containsKey(alias)) found = alias;
            if (found == null) continue;
            String name = found;
            NDArray fresh = weights instanceof LazyTensors lazy                // read now, one tensor at a time
                    ? staging.owned(manager, new Shape(lazy.shape(name)), out -> lazy.readInto(name, out))
                    : staging.owned(manager, weights.get(name).data(), new Shape(weights.get(name).shape()));
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
        return new Staging().owned(manager, grown, new Shape(newRows, cols));
    }

    /**
     * Makes parameters from Java data as arrays that libtorch owns. {@code manager.create(float[])} would copy the data
     * into a new direct Java buffer and wrap it without a copy (from_blob, on the CPU): the array's memory would then be
     * freed only when the garbage collector collects the buffer, not when the array is closed (a model whose parameters
     * are replaced, as when weights are loaded or a run resumes, would hold both sets), and it would count against
     * -XX:MaxDirectMemorySize (by default the -Xmx heap size). Here the data passes through one direct buffer, reused
     * for every tensor of a model, and libtorch copies it into memory of its own.
     */
    static final class Staging {
        private ByteBuffer buffer;

        NDArray owned(NDManager manager, float[] data, Shape shape) {
            return owned(manager, shape, out -> out.put(data));
        }

        /** As {@link #owned(NDManager, float[], Shape)}, with {@code fill} putting the values (shape.size() floats). */
        NDArray owned(NDManager manager, Shape shape, java.util.function.Consumer<java.nio.FloatBuffer> fill) {
            int bytes = Math.toIntExact(4 * shape.size());
            if (buffer == null || buffer.capacity() < bytes) buffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
            buffer.clear();
            java.nio.FloatBuffer floats = buffer.asFloatBuffer();
            fill.accept(floats);
            if (floats.position() != shape.size()) {
                throw new IllegalStateException("filled " + floats.position() + " values for shape " + shape);
            }
            buffer.limit(bytes);
            NDArray view = manager.create(buffer, shape, DataType.FLOAT32);  // shares the buffer on the CPU
            if (manager.getDevice().isGpu()) return view;                      // copied to the device, nothing shared
            NDArray copy = view.duplicate();                                   // libtorch's own memory
            view.close();
            return copy;
        }
    }
}
