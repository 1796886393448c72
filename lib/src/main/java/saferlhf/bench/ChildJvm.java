package saferlhf.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A benchmark part in a fresh JVM, so that its peak resident memory and its thread setting are its own: re-launches
 * {@code saferlhf.cli.Main ARGS...} with this JVM's command, options and class path, and reads the last JSON line the
 * child prints.
 */
final class ChildJvm {
    private ChildJvm() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param mainArgs the command line of the child ({@code bench models --part ...})
     * @param threads  intra-op threads of the child (ai.djl.pytorch.num_threads, OMP_NUM_THREADS); 0: DJL's default
     * @return the child's last JSON line, with {@code fresh_jvm: true}
     */
    static ObjectNode run(List<String> mainArgs, int threads) {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!arg.startsWith("-agentlib") && !arg.startsWith("-javaagent") && !arg.startsWith("-Dai.djl.pytorch.num_threads")) cmd.add(arg);
        }
        if (threads > 0) cmd.add("-Dai.djl.pytorch.num_threads=" + threads);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "saferlhf.cli.Main"));
        cmd.addAll(mainArgs);
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
            pb.environment().put("OMP_WAIT_POLICY", ModelBenchmarks.OMP_WAIT_POLICY);
            if (threads > 0) {
                pb.environment().put("OMP_NUM_THREADS", String.valueOf(threads));
                pb.environment().put("MKL_NUM_THREADS", String.valueOf(threads));
            }
            Process p = pb.start();
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int rc = p.waitFor();
            if (rc != 0) throw new IllegalStateException("child JVM (" + String.join(" ", mainArgs) + ") exited with " + rc + ": " + stdout);
            ObjectNode r = (ObjectNode) JSON.readTree(ModelBenchmarks.lastJsonLine(stdout));
            r.put("fresh_jvm", true);
            return r;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start a child JVM (" + String.join(" ", mainArgs) + "): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
