package saferlhf.util;

import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A fresh JVM running the kit's command line ({@code saferlhf.cli.Main ARGS...}) with its own intra-op thread count:
 * libtorch's thread pool, DJL's one gradient collector and peak memory are per process, so a benchmark part or a
 * reproduction stage that must own them runs in a child. The child gets this JVM's options (heap, system properties)
 * and the kit's class path; it inherits the environment ({@code LD_PRELOAD} of tcmalloc, {@code OMP_WAIT_POLICY}).
 */
public final class KitJvm {
    private KitJvm() {}

    /** OpenMP wait policy of every child unless OMP_WAIT_POLICY is set: spinning threads fight over shared cores. */
    public static final String OMP_WAIT_POLICY = System.getenv().getOrDefault("OMP_WAIT_POLICY", "PASSIVE");

    /**
     * Set by the kit's Jupyter kernel spec (environment/install.sh): progress bars redraw one line, as in a terminal.
     * Child JVMs write to log files, so {@link #command} removes it from their environment.
     */
    public static final String NOTEBOOK_ENV = "SAFERLHF_NOTEBOOK";

    /**
     * The process of {@code java ... saferlhf.cli.Main mainArgs}, not yet started.
     *
     * @param threads intra-op threads of the child (ai.djl.pytorch.num_threads, OMP_NUM_THREADS, MKL_NUM_THREADS);
     *                0: libtorch's default
     */
    public static ProcessBuilder command(List<String> mainArgs, int threads) {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!arg.startsWith("-agentlib") && !arg.startsWith("-javaagent") && !arg.startsWith("-Dai.djl.pytorch.num_threads")) cmd.add(arg);
        }
        if (threads > 0) cmd.add("-Dai.djl.pytorch.num_threads=" + threads);
        cmd.addAll(List.of("-cp", classPath(), "saferlhf.cli.Main"));
        cmd.addAll(mainArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("OMP_WAIT_POLICY", OMP_WAIT_POLICY);
        pb.environment().remove(NOTEBOOK_ENV);
        if (threads > 0) {
            pb.environment().put("OMP_NUM_THREADS", String.valueOf(threads));
            pb.environment().put("MKL_NUM_THREADS", String.valueOf(threads));
        }
        return pb;
    }

    /**
     * The kit's class path: its jar when the kit was loaded from one ({@code lib/target/saferlhf.jar}, whose manifest
     * names its dependencies; a Jupyter kernel's own class path does not hold the kit), else this JVM's class path
     * (Maven's test runs, an IDE).
     */
    static String classPath() {
        try {
            Path kit = Path.of(KitJvm.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(kit) && kit.toString().endsWith(".jar")) return kit.toString();
        } catch (URISyntaxException | SecurityException | NullPointerException e) {
            // fall through: the JVM's own class path
        }
        return System.getProperty("java.class.path");
    }

    /**
     * A memory field of /proc/PID/status in MiB ({@code VmRSS}: resident now, {@code VmHWM}: the peak), or -1 when it
     * cannot be read (the process is gone, or not Linux).
     *
     * @param pid a process id, or {@code self}
     */
    public static double procStatusMib(String pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
                if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        } catch (java.io.IOException | NumberFormatException e) {
            // gone, or not Linux
        }
        return -1;
    }

    /** CPU seconds this process has used so far, all its threads (libtorch's included). */
    public static double cpuSeconds() {
        var os = ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() / 1e9 : 0;
    }
}
