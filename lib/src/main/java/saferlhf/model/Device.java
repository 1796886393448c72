package saferlhf.model;

import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import java.util.function.BooleanSupplier;

/**
 * Parses the kit's device names into {@link ai.djl.Device}: {@code "cpu"}, {@code "gpu"} (= {@code gpu:0}),
 * {@code "gpu:N"}, and {@code "auto"} (the first GPU when libtorch can use CUDA, else the CPU).
 *
 * <p>{@code auto} asks libtorch itself: {@code Engine.getEngine("PyTorch").hasCapability(CUDA)} is
 * {@code torch::cuda::is_available()} in DJL's JNI. DJL's {@code Engine.getGpuCount()} counts GPUs through a
 * {@code libcudart} lookup of its own, which finds none when the natives come from a pip {@code torch} wheel (its
 * CUDA runtime is not on the system library path), so a GPU that libtorch uses would be missed. The GPU count is
 * asked only when the PyTorch engine is not the one loaded.
 */
public final class Device {
    private Device() {}

    public static ai.djl.Device parse(String name) {
        return parse(name, Device::cudaAvailable);
    }

    /** As {@link #parse(String)}, with the CUDA check given (tests). */
    static ai.djl.Device parse(String name, BooleanSupplier cuda) {
        String s = name == null ? "auto" : name.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("cpu")) return ai.djl.Device.cpu();
        if (s.equals("auto")) return cuda.getAsBoolean() ? ai.djl.Device.gpu(0) : ai.djl.Device.cpu();
        if (s.equals("gpu") || s.equals("cuda")) return ai.djl.Device.gpu(0);
        if (s.startsWith("gpu:") || s.startsWith("cuda:")) {
            String index = s.substring(s.indexOf(':') + 1);
            try {
                int n = Integer.parseInt(index);
                if (n < 0) throw new NumberFormatException();
                return ai.djl.Device.gpu(n);
            } catch (NumberFormatException e) {
                throw new saferlhf.util.InputError("bad GPU index in device '" + name + "': expected gpu:N with N >= 0");
            }
        }
        throw new saferlhf.util.InputError("unknown device '" + name + "': expected cpu, gpu, gpu:N or auto");
    }

    /** Whether libtorch can use a CUDA GPU (falls back to DJL's GPU count for another engine). */
    public static boolean cudaAvailable() {
        Engine pytorch = Engine.hasEngine("PyTorch") ? Engine.getEngine("PyTorch") : null;
        if (pytorch != null) return pytorch.hasCapability(StandardCapabilities.CUDA);
        return Engine.getInstance().getGpuCount() > 0;
    }

    /**
     * One line for a command's setup log: the device a name resolves to and why, e.g.
     * {@code device: gpu(0) (device=auto: libtorch reports CUDA)}.
     */
    public static String describe(String name) {
        ai.djl.Device device = parse(name);
        String s = name == null ? "auto" : name.trim().toLowerCase(java.util.Locale.ROOT);
        String why = !s.equals("auto") ? "device=" + s
                : device.isGpu() ? "device=auto: libtorch reports CUDA" : "device=auto: libtorch reports no CUDA";
        return "device: " + device + " (" + why + ")";
    }

    /**
     * Sets libtorch's intra-op threads of this process (torch.set_num_threads); a thread count is part of what makes a
     * CPU run bit-reproducible, since reductions split their work by it. Starts the engine if needed.
     */
    public static void setIntraOpThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        Engine.getEngine("PyTorch"); // loads the natives
        ai.djl.pytorch.jni.JniUtils.setNumThreads(threads);
    }

    /** libtorch's intra-op threads of this process (torch.get_num_threads). */
    public static int intraOpThreads() {
        Engine.getEngine("PyTorch");
        return ai.djl.pytorch.jni.JniUtils.getNumThreads();
    }
}
