package saferlhf.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
        try {
            ProcessBuilder pb = saferlhf.util.KitJvm.command(mainArgs, threads).redirectError(ProcessBuilder.Redirect.INHERIT);
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
