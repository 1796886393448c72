package saferlhf.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import saferlhf.train.Configs;
import saferlhf.train.SftConfig;
import saferlhf.train.SftTrainer;
import saferlhf.train.TrainingLoop;
import saferlhf.util.AtomicFiles;

/**
 * Memory must stay flat over long runs, or a native leak in DJL (an unclosed gradient, an intermediate array owned by
 * a long-lived manager) grows the process until it dies. This check trains the tiny SFT model through the real
 * training loop for {@code steps} optimizer steps and compares the resident memory (VmRSS) after step
 * {@code steps / 10} with the memory after the last step. Target: growth under 5%.
 *
 * <p>Resident memory includes the Java heap, which the JVM grows on demand; the check also reports the committed heap
 * at both points so that heap growth is not mistaken for a native leak. Run it with a fixed heap
 * and its pages touched up front ({@code SAFERLHF_JAVA_OPTS="-Xms512m -Xmx512m -XX:+AlwaysPreTouch"}) to
 * measure growth outside the heap alone.
 *
 * @param rssEarlyMb   VmRSS after step {@code steps / 10}
 * @param rssLateMb    VmRSS after the last step
 * @param heapEarlyMb  committed Java heap after step {@code steps / 10}
 * @param heapLateMb   committed Java heap after the last step
 * @param growth       (rssLate - rssEarly) / rssEarly
 */
public record MemoryCheck(int steps, double rssEarlyMb, double rssLateMb, double heapEarlyMb, double heapLateMb,
                          double growth, double seconds) {
    public static final double TARGET = 0.05;

    /** Runs the check in a temporary run folder (deleted afterwards). */
    public static MemoryCheck run(int steps) throws IOException {
        if (steps < 10) throw new IllegalArgumentException("steps must be >= 10");
        Path out = Files.createTempDirectory("saferlhf-memory-check");
        SftConfig config = Configs.override(SftConfig.quick(), List.of("output_dir=" + out, "eval_strategy=no",
                "eval_datasets=", "epochs=" + (1 + steps / 375), "save_interval=" + (steps + 1)));
        double[] rss = new double[2], heap = new double[2];
        long early = steps / 10;
        long started = System.nanoTime();
        try (SftTrainer trainer = new SftTrainer(config)) {
            TrainingLoop.run(config, trainer, steps, (step, metrics) -> {
                if (step == early || step == steps) {
                    int i = step == early ? 0 : 1;
                    rss[i] = saferlhf.util.KitJvm.procStatusMib("self", "VmRSS");
                    heap[i] = java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted() / 1048576.0;
                }
            });
        } finally {
            AtomicFiles.deleteRecursively(out);
        }
        return new MemoryCheck(steps, rss[0], rss[1], heap[0], heap[1], (rss[1] - rss[0]) / rss[0], (System.nanoTime() - started) / 1e9);
    }

    public boolean meetsTarget() { return growth < TARGET; }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "memory check: %d SFT steps of the tiny model in %.0f s; VmRSS %.1f MB after step %d, "
                        + "%.1f MB after step %d: growth %+.2f%% (target < %.0f%%: %s); committed Java heap %.1f -> %.1f MB, "
                        + "so outside the heap %.1f -> %.1f MB", steps, seconds, rssEarlyMb, steps / 10, rssLateMb, steps,
                100 * growth, 100 * TARGET, meetsTarget() ? "met" : "NOT met", heapEarlyMb, heapLateMb,
                rssEarlyMb - heapEarlyMb, rssLateMb - heapLateMb);
    }
}
