package saferlhf.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import saferlhf.model.Device;
import saferlhf.util.AtomicFiles;
import saferlhf.util.InputError;
import saferlhf.util.JsonFiles;
import saferlhf.util.KitJvm;

/**
 * A pipeline as a graph of stages. A stage whose output is complete is skipped; the others run either one after another
 * in this JVM ({@code jobs = 1}) or several at once, each in a child JVM of its own ({@code jobs > 1}): libtorch's
 * thread pool and DJL's single gradient collector are per process. Light stages (seconds of inference, no gradients)
 * run one at a time on a worker thread of this JVM instead, beside the children: a child JVM's start-up (JVM, libtorch,
 * JIT warm-up, model loading) took longer than an evaluation itself. Every stage runs with the same intra-op thread
 * count whatever {@code jobs} is, and seeds everything it draws from its own config, so the two ways give bit-identical
 * results (tested by {@code ParallelReproductionTest}).
 *
 * <p>Ready stages start in order of the longest chain of stages waiting on them (the critical path first), then in
 * the order given.
 */
public final class StageGraph {

    /** A stage's work. */
    public interface Body {
        void run() throws IOException;
    }

    /**
     * @param name     unique, without spaces: a child's {@code --stage} argument and its log file's name
     * @param after    the stages whose outputs it reads
     * @param complete whether its output is already there (then it is skipped); a file check, no model is loaded
     * @param body     the work
     * @param light    a few seconds of inference, no gradients (evaluations, sampling): in a parallel run it runs on a
     *                 worker thread of this JVM, beside the child JVMs, rather than paying a JVM's start-up of its own
     */
    public record Stage(String name, List<String> after, BooleanSupplier complete, Body body, boolean light) {}

    /**
     * How a graph runs.
     *
     * @param jobs    stages at once; 1 runs them one after another in this JVM, more in child JVMs
     * @param threads libtorch intra-op threads of every stage
     */
    public record Schedule(int jobs, int threads) {
        /** At most this many stages at once by default: the reproduction's graph is rarely wider. */
        static final int MAX_AUTO_JOBS = 4;

        public Schedule {
            if (jobs < 1) throw new InputError("--jobs must be >= 1, got " + jobs);
            if (threads < 1) throw new InputError("--threads-per-stage must be >= 1, got " + threads);
        }

        /**
         * This machine's cores shared out: {@code min(cores, 4)} stages at once, {@code cores / jobs} threads each (2 cores: 2
         * stages of 1 thread; 32 cores: 4 stages of 8 threads).
         */
        public static Schedule auto() {
            int cores = Runtime.getRuntime().availableProcessors();
            int jobs = Math.min(cores, MAX_AUTO_JOBS);
            return new Schedule(jobs, Math.max(1, cores / jobs));
        }

        /**
         * {@code jobs} and {@code threads} where given (null: {@link #auto()}'s). The default threads do not follow
         * {@code jobs}, so that {@code --jobs 1} and {@code --jobs N} compute the same on one machine.
         */
        public static Schedule of(Integer jobs, Integer threads) {
            Schedule auto = auto();
            return new Schedule(jobs != null ? jobs : auto.jobs(), threads != null ? threads : auto.threads());
        }
    }

    /**
     * When and how a stage ran. Times are seconds from the start of the run; a skipped stage keeps the figures of the run
     * that made it (or none, when that run did not record them).
     *
     * @param cpuSeconds CPU time of all its threads (its child JVM's, or this JVM's during the stage); -1 when unknown
     * @param peakRssMib peak resident memory of its child JVM; -1 when unknown (stages run in this JVM share its peak)
     */
    public record Timing(String stage, double start, double end, double cpuSeconds, int threads, double peakRssMib, boolean skipped) {
        /** Wall seconds as {@code summary.json} records them: from the rounded start and end, so that a timing read back
         *  and written again (a skipped stage) keeps its figure. */
        public double wallSeconds() { return round(round(end) - round(start)); }

        ObjectNode toJson() {
            ObjectNode n = JSON.createObjectNode();
            n.put("stage", stage);
            n.put("start_seconds", round(start));
            n.put("end_seconds", round(end));
            n.put("wall_seconds", wallSeconds());
            if (cpuSeconds >= 0) n.put("cpu_seconds", round(cpuSeconds));
            n.put("threads", threads);
            if (peakRssMib >= 0) n.put("peak_rss_mib", round(peakRssMib));
            n.put("skipped", skipped);
            return n;
        }

        static Timing fromJson(JsonNode n) {
            return new Timing(n.path("stage").asText(), n.path("start_seconds").asDouble(), n.path("end_seconds").asDouble(),
                    n.path("cpu_seconds").asDouble(-1), n.path("threads").asInt(0), n.path("peak_rss_mib").asDouble(-1),
                    n.path("skipped").asBoolean());
        }
    }

    /**
     * A whole run.
     *
     * @param peakRssMib the peak of the resident memory of this JVM and its running children together (sampled every
     *                   0.2 s; with {@code jobs = 1}, this JVM's own peak)
     */
    public record Result(List<Timing> timeline, Schedule schedule, double wallSeconds, double cpuSeconds, double peakRssMib) {}

    /** A stage that failed in a child JVM: its error line and its exit code (2: bad input, 3: diverged). */
    public static final class StageFailed extends RuntimeException {
        private final int exitCode;

        StageFailed(String message, int exitCode) {
            super(message);
            this.exitCode = exitCode;
        }

        public int exitCode() { return exitCode; }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<Stage> stages;
    private final Map<String, Stage> byName = new LinkedHashMap<>();

    /** @param stages in an order where every stage comes after the stages it reads */
    public StageGraph(List<Stage> stages) {
        this.stages = List.copyOf(stages);
        for (Stage s : stages) {
            if (s.name().isBlank() || s.name().contains(" ")) throw new IllegalArgumentException("bad stage name '" + s.name() + "'");
            for (String dependency : s.after()) {
                if (!byName.containsKey(dependency)) throw new IllegalArgumentException(s.name() + " comes before its input " + dependency);
            }
            if (byName.put(s.name(), s) != null) throw new IllegalArgumentException("two stages named " + s.name());
        }
    }

    public List<Stage> stages() { return stages; }

    /** The stage named {@code name}, or an {@link InputError} listing the names. */
    public Stage stage(String name) {
        Stage s = byName.get(name);
        if (s == null) throw new InputError("unknown stage '" + name + "' (" + String.join(", ", byName.keySet()) + ")");
        return s;
    }

    /** The graph of {@code targets} and every stage they read, directly or not, in this graph's order. */
    public StageGraph upTo(java.util.Collection<String> targets) {
        java.util.Set<String> needed = new java.util.HashSet<>();
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>();
        for (String target : targets) todo.add(stage(target).name());
        while (!todo.isEmpty()) {
            String name = todo.pop();
            if (needed.add(name)) todo.addAll(stage(name).after());
        }
        return new StageGraph(stages.stream().filter(s -> needed.contains(s.name())).toList());
    }

    /**
     * Runs the graph.
     *
     * @param childArgs the command line of a child JVM that runs one stage ({@link #runHere} there), by stage name
     * @param logs      the children's folder: {@code NAME.log} (their output) and {@code NAME.json} (their timing)
     * @param earlier   the timeline of an earlier run of this graph, for the stages now found complete
     */
    public Result run(Schedule schedule, Function<String, List<String>> childArgs, Path logs, Map<String, Timing> earlier,
                      PrintStream log) throws IOException {
        long t0 = System.nanoTime();
        double cpu0 = KitJvm.cpuSeconds();
        Ran ran = schedule.jobs() == 1 ? oneAfterAnother(schedule.threads(), earlier, t0, log)
                : severalAtOnce(schedule, childArgs, logs, earlier, t0, log);
        double cpu = KitJvm.cpuSeconds() - cpu0;
        for (Timing t : ran.timeline()) { // the children's; light stages ran in this JVM, whose CPU time is counted above
            if (schedule.jobs() > 1 && !t.skipped() && !stage(t.stage()).light() && t.cpuSeconds() > 0) cpu += t.cpuSeconds();
        }
        return new Result(ran.timeline(), schedule, since(t0), cpu, ran.peakRssMib());
    }

    /**
     * What one of the two ways of running left: the timeline and the peak resident memory (this JVM's own when it ran
     * every stage; with children, this JVM's and its running children's together, sampled).
     */
    private record Ran(List<Timing> timeline, double peakRssMib) {}

    /** One after another, in this JVM (whose intra-op thread count is restored afterwards). */
    private Ran oneAfterAnother(int threads, Map<String, Timing> earlier, long t0, PrintStream log) throws IOException {
        List<Timing> timeline = new ArrayList<>();
        Integer before = null;
        try {
            for (Stage s : stages) {
                if (s.complete().getAsBoolean()) {
                    timeline.add(skipped(s, earlier));
                    continue;
                }
                if (before == null) before = Device.intraOpThreads();
                double start = since(t0), cpu = KitJvm.cpuSeconds();
                log.printf(Locale.ROOT, "[%7.1f s] %s started (%d thread%s)%n", start, s.name(), threads, threads == 1 ? "" : "s");
                Device.setIntraOpThreads(threads);
                s.body().run();
                timeline.add(new Timing(s.name(), start, since(t0), KitJvm.cpuSeconds() - cpu, threads, -1, false));
                log.printf(Locale.ROOT, "[%7.1f s] %s done (%.1f s)%n", since(t0), s.name(), since(t0) - start);
            }
        } finally {
            if (before != null) Device.setIntraOpThreads(before);
        }
        return new Ran(timeline, KitJvm.procStatusMib("self", "VmHWM"));
    }

    /**
     * Runs one stage in this JVM with {@code threads} intra-op threads and writes its timing to {@code timingFile}: what a
     * child of a parallel run does. Refuses to start before the stages it reads are complete.
     */
    public void runHere(String name, int threads, Path timingFile) throws IOException {
        Stage s = stage(name);
        for (String dependency : s.after()) {
            if (!stage(dependency).complete().getAsBoolean()) throw new InputError("stage " + name + " reads " + dependency + ", which is not complete");
        }
        long t0 = System.nanoTime();
        double cpu = KitJvm.cpuSeconds();
        Device.setIntraOpThreads(threads);
        s.body().run();
        Timing t = new Timing(name, 0, since(t0), KitJvm.cpuSeconds() - cpu, threads, KitJvm.procStatusMib("self", "VmHWM"), false);
        AtomicFiles.writeString(timingFile, t.toJson().toPrettyString() + "\n");
    }

    /** What a finished stage left: its CPU seconds and peak memory, or why it failed and the exit code to give. */
    private record Outcome(boolean ok, double cpuSeconds, double peakRssMib, String why, int exit) {}

    /** A stage at work: in a child JVM, or (a light stage) on this JVM's worker thread. */
    private interface Running {
        boolean alive();

        /** Resident memory of its own process in MiB (0 on the worker thread: it is this JVM's). */
        double residentMib();

        Outcome outcome();

        void stop();
    }

    private Running startChild(Stage s, Schedule schedule, Function<String, List<String>> childArgs, Path logs) throws IOException {
        Path logFile = logs.resolve(s.name() + ".log"), timingFile = logs.resolve(s.name() + ".json");
        Files.deleteIfExists(timingFile);
        Process p = KitJvm.command(childArgs.apply(s.name()), schedule.threads()).redirectErrorStream(true)
                .redirectOutput(logFile.toFile()).start();
        return new Running() {
            public boolean alive() { return p.isAlive(); }

            public double residentMib() { return Math.max(0, KitJvm.procStatusMib(String.valueOf(p.pid()), "VmRSS")); }

            public Outcome outcome() {
                int exit = p.exitValue();
                if (exit != 0) return new Outcome(false, -1, -1, lastErrorLine(logFile) + " (log: " + logFile + ")", exit);
                try {
                    JsonNode t = Files.isRegularFile(timingFile) ? JsonFiles.read(timingFile) : JSON.createObjectNode();
                    return new Outcome(true, t.path("cpu_seconds").asDouble(-1), t.path("peak_rss_mib").asDouble(-1), null, 0);
                } catch (IOException e) {
                    return new Outcome(true, -1, -1, null, 0);
                }
            }

            public void stop() { p.destroy(); }
        };
    }

    private Running startLight(Stage s, Schedule schedule, java.util.concurrent.ExecutorService worker) {
        java.util.concurrent.Future<Double> cpu = worker.submit(() -> {
            var bean = ManagementFactory.getThreadMXBean();
            long before = bean.getCurrentThreadCpuTime(); // with one intra-op thread libtorch computes on this thread
            Device.setIntraOpThreads(schedule.threads());
            s.body().run();
            return schedule.threads() == 1 ? (bean.getCurrentThreadCpuTime() - before) / 1e9 : -1.0;
        });
        return new Running() {
            public boolean alive() { return !cpu.isDone(); }

            public double residentMib() { return 0; }

            public Outcome outcome() {
                try {
                    return new Outcome(true, cpu.get(), -1, null, 0);
                } catch (java.util.concurrent.ExecutionException e) {
                    Throwable why = e.getCause();
                    return new Outcome(false, -1, -1, String.valueOf(why.getMessage()), why instanceof InputError ? 2 : 1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return new Outcome(false, -1, -1, "interrupted", 1);
                }
            }

            public void stop() { cpu.cancel(true); }
        };
    }

    /** Several at once: each in a child JVM, light ones one at a time on a worker thread of this JVM. */
    private Ran severalAtOnce(Schedule schedule, Function<String, List<String>> childArgs, Path logs,
                              Map<String, Timing> earlier, long t0, PrintStream log) throws IOException {
        Files.createDirectories(logs);
        Map<String, Integer> chain = chainLengths();
        List<Stage> pending = new ArrayList<>(stages);
        pending.sort(Comparator.comparing((Stage s) -> -chain.get(s.name()))); // stable: the given order breaks ties
        Set<String> done = new HashSet<>();
        Map<String, Running> running = new java.util.concurrent.ConcurrentHashMap<>(); // the shutdown hook reads it too
        Map<String, Double> started = new HashMap<>();
        List<Timing> timeline = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        int failedExit = 0;
        double peak = 0;
        java.util.concurrent.ExecutorService worker = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "light-stages");
            t.setDaemon(true);
            return t;
        });
        Thread stopChildren = new Thread(() -> running.values().forEach(Running::stop));
        Runtime.getRuntime().addShutdownHook(stopChildren); // an interrupted reproduction leaves no stage running
        try {
            while (!pending.isEmpty() || !running.isEmpty()) {
                boolean progressed = true;
                while (progressed && failures.isEmpty()) { // skip what is complete, start what is ready
                    progressed = false;
                    long children = running.keySet().stream().filter(n -> !stage(n).light()).count();
                    boolean workerBusy = running.keySet().stream().anyMatch(n -> stage(n).light());
                    for (var it = pending.iterator(); it.hasNext(); ) {
                        Stage s = it.next();
                        if (!done.containsAll(s.after())) continue;
                        if (s.complete().getAsBoolean()) {
                            timeline.add(skipped(s, earlier));
                            done.add(s.name());
                        } else if (s.light() ? !workerBusy : children < schedule.jobs()) {
                            running.put(s.name(), s.light() ? startLight(s, schedule, worker) : startChild(s, schedule, childArgs, logs));
                            started.put(s.name(), since(t0));
                            log.printf(Locale.ROOT, "[%7.1f s] %s started (%d thread%s; %s)%n", since(t0), s.name(), schedule.threads(),
                                    schedule.threads() == 1 ? "" : "s", s.light() ? "in this JVM" : "log " + saferlhf.KitPaths.shown(logs.resolve(s.name() + ".log")));
                        } else {
                            continue;
                        }
                        it.remove();
                        progressed = true;
                        break;
                    }
                }
                if (running.isEmpty()) {
                    if (!failures.isEmpty() || pending.isEmpty()) break;
                    throw new IllegalStateException("no stage can start: " + pending.stream().map(Stage::name).toList());
                }
                peak = Math.max(peak, sleepAndSample(running));
                for (var it = running.entrySet().iterator(); it.hasNext(); ) {
                    var e = it.next();
                    if (e.getValue().alive()) continue;
                    it.remove();
                    String name = e.getKey();
                    Outcome o = e.getValue().outcome();
                    double end = since(t0);
                    if (o.ok() && stage(name).complete().getAsBoolean()) {
                        timeline.add(new Timing(name, started.get(name), end, o.cpuSeconds(), schedule.threads(), o.peakRssMib(), false));
                        done.add(name);
                        log.printf(Locale.ROOT, "[%7.1f s] %s done (%.1f s)%n", end, name, end - started.get(name));
                    } else {
                        failures.add("stage " + name + " failed: " + (o.ok() ? "it ended without its output" : o.why()));
                        if (failedExit == 0) failedExit = o.ok() ? 1 : o.exit();
                        log.printf(Locale.ROOT, "[%7.1f s] %s%s%n", end, failures.get(failures.size() - 1),
                                running.isEmpty() ? "" : "; waiting for " + String.join(", ", running.keySet()));
                    }
                }
            }
        } finally {
            running.values().forEach(Running::stop);
            worker.shutdownNow();
            try {
                Runtime.getRuntime().removeShutdownHook(stopChildren);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
        }
        if (!failures.isEmpty()) throw new StageFailed(String.join("; ", failures), failedExit);
        return new Ran(timeline, peak);
    }

    /** Waits 0.2 s, then returns the resident memory of this JVM and its running children together (MiB). */
    private static double sleepAndSample(Map<String, Running> running) {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        double total = Math.max(0, KitJvm.procStatusMib("self", "VmRSS"));
        for (Running r : running.values()) total += r.residentMib();
        return total;
    }

    /** For each stage, the number of stages on the longest chain that waits on it, itself included. */
    private Map<String, Integer> chainLengths() {
        Map<String, Integer> length = new HashMap<>();
        for (int i = stages.size() - 1; i >= 0; i--) {
            Stage s = stages.get(i);
            int longest = 0;
            for (Stage later : stages.subList(i + 1, stages.size())) {
                if (later.after().contains(s.name())) longest = Math.max(longest, length.get(later.name()));
            }
            length.put(s.name(), longest + 1);
        }
        return length;
    }

    private static Timing skipped(Stage s, Map<String, Timing> earlier) {
        Timing before = earlier.get(s.name());
        return before == null ? new Timing(s.name(), 0, 0, -1, 0, -1, true)
                : new Timing(s.name(), before.start(), before.end(), before.cpuSeconds(), before.threads(), before.peakRssMib(), true);
    }

    /** The child's {@code error: ...} line, else its last line. */
    private static String lastErrorLine(Path logFile) {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            for (int i = lines.size() - 1; i >= 0; i--) if (lines.get(i).startsWith("error: ")) return lines.get(i).substring(7);
            return lines.isEmpty() ? "no output" : lines.get(lines.size() - 1).strip();
        } catch (IOException e) {
            return "no log";
        }
    }

    private static double since(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    /** The timeline in {@code summary.json}. */
    static Map<String, Timing> timeline(JsonNode summary) {
        Map<String, Timing> t = new LinkedHashMap<>();
        summary.path("timeline").forEach(n -> t.put(n.path("stage").asText(), Timing.fromJson(n)));
        return t;
    }
}
