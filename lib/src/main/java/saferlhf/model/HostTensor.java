package saferlhf.model;

import java.util.Arrays;

/**
 * A float32 tensor in Java memory (row-major), the exchange format between checkpoint readers and models.
 *
 * @param data  row-major values, length = product of shape
 * @param shape dimensions
 */
public record HostTensor(float[] data, long[] shape) {
    public HostTensor {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " values, data has " + data.length);
        }
    }

    /** A copy of an array's values (any float type is read as float32). */
    public static HostTensor of(ai.djl.ndarray.NDArray array) {
        return new HostTensor(array.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray(), array.getShape().getShape());
    }

    /** A 1-d tensor. */
    public static HostTensor of(float... data) { return new HostTensor(data, new long[] {data.length}); }
}
