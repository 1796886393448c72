package saferlhf.cli;

import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import saferlhf.model.Device;

/**
 * {@code saferlhf device [--require-gpu]}: which libtorch DJL loaded and whether it can use CUDA, the first thing to
 * check on a GPU machine (docs/gpu.md).
 */
@Command(name = "device", mixinStandardHelpOptions = true,
        description = "Show the libtorch DJL loaded, whether it can use CUDA, and the device that device=auto picks.")
public final class DeviceCommand implements Callable<Integer> {
    @Option(names = "--require-gpu", description = "exit with code 1 when libtorch cannot use a CUDA GPU")
    boolean requireGpu;

    @Override
    public Integer call() {
        Engine engine = Engine.getEngine("PyTorch");
        boolean cuda = engine.hasCapability(StandardCapabilities.CUDA);
        line("engine", engine.getEngineName() + " " + engine.getVersion() + " (DJL " + Engine.getDjlVersion() + ")");
        line("libtorch", ai.djl.pytorch.jni.LibUtils.getLibtorchPath());
        for (String variable : new String[] {"PYTORCH_LIBRARY_PATH", "PYTORCH_VERSION", "PYTORCH_FLAVOR"}) {
            String value = System.getenv(variable);
            line(variable, value == null ? "(not set)" : value);
        }
        line("CUDA", (cuda ? "yes" : "no") + " (libtorch's torch::cuda::is_available)");
        line("cuDNN", engine.hasCapability(StandardCapabilities.CUDNN) ? "yes" : "no");
        line("GPUs (DJL)", engine.getGpuCount() + " (DJL's own libcudart lookup; 0 with a pip wheel's libtorch is possible)");
        line("device=auto", Device.describe("auto").substring("device: ".length()));
        line("CPU threads", Device.intraOpThreads() + " intra-op (libtorch), " + Runtime.getRuntime().availableProcessors() + " cores");
        String preload = System.getenv().getOrDefault("LD_PRELOAD", "");
        line("LD_PRELOAD", preload.isEmpty() ? "(none: run through ./saferlhf for tcmalloc and the MKL CPU dispatch shim)" : preload);
        line("MKL CPU dispatch", preload.contains("mkl_cpu_dispatch") ? "by instruction set, on every vendor (environment/native/mkl_cpu_dispatch.c)"
                : "MKL's own: generic kernels on non-Intel CPUs (docs/speed.md)");
        if (requireGpu && !cuda) {
            System.err.println("error: libtorch cannot use a CUDA GPU: " + ai.djl.pytorch.jni.LibUtils.getLibtorchPath()
                    + " is not a CUDA build, or no GPU is visible (see docs/gpu.md)");
            return 1;
        }
        return 0;
    }

    private static void line(String key, String value) {
        System.out.printf("%-21s %s%n", key + ":", value);
    }
}
