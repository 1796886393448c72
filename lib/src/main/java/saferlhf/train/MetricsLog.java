package saferlhf.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import saferlhf.util.AtomicFiles;
import saferlhf.util.InputError;

/**
 * Training metrics under the reference's names ({@code train/loss}, {@code train/reward}, {@code eval/accuracy}, ...),
 * one JSON object per logged step in {@code metrics.jsonl} (appended and flushed as it goes, so a crash loses nothing)
 * and the same table as {@code metrics.csv} (rewritten by {@link #writeCsv()} and on close). The history stays in
 * memory for plotting ({@link #series(String)}).
 */
public final class MetricsLog implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path jsonl;
    private final Path csv;
    private final List<Map<String, Double>> rows = new ArrayList<>();
    private BufferedWriter out;

    /**
     * Opens the log of a run folder. An existing {@code metrics.jsonl} is kept up to and including {@code resumeStep}
     * (entries after it, written by a run that was interrupted after its last checkpoint, are dropped); pass -1 to
     * start afresh.
     */
    public MetricsLog(Path runDir, long resumeStep) {
        this.jsonl = runDir.resolve("metrics.jsonl");
        this.csv = runDir.resolve("metrics.csv");
        try {
            Files.createDirectories(runDir);
            if (resumeStep >= 0 && Files.exists(jsonl)) {
                for (Map<String, Double> row : read(jsonl)) {
                    if (row.getOrDefault("step", 0.0) <= resumeStep) rows.add(row);
                }
            }
            List<String> kept = new ArrayList<>();
            for (Map<String, Double> row : rows) kept.add(JSON.writeValueAsString(row));
            AtomicFiles.writeString(jsonl, kept.isEmpty() ? "" : String.join("\n", kept) + "\n");
            out = Files.newBufferedWriter(jsonl, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + jsonl, e);
        }
    }

    /** Logs the metrics of one step (written at once). The map's order is kept in the file. */
    public void log(long step, Map<String, ? extends Number> metrics) {
        Map<String, Double> row = new LinkedHashMap<>();
        row.put("step", (double) step);
        metrics.forEach((k, v) -> row.put(k, v.doubleValue()));
        rows.add(row);
        try {
            ObjectNode node = JSON.createObjectNode();
            node.put("step", step);
            metrics.forEach((k, v) -> putNumber(node, k, v));
            out.write(JSON.writeValueAsString(node));
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + jsonl, e);
        }
    }

    private static void putNumber(ObjectNode node, String key, Number value) {
        if (value instanceof Integer || value instanceof Long) node.put(key, value.longValue());
        else node.put(key, value.doubleValue());
    }

    /** Every logged row, oldest first. */
    public List<Map<String, Double>> rows() { return List.copyOf(rows); }

    /** {@code {steps[], values[]}} of one metric, over the rows that have it. */
    public double[][] series(String key) {
        List<double[]> points = new ArrayList<>();
        for (Map<String, Double> row : rows) if (row.containsKey(key)) points.add(new double[] {row.get("step"), row.get(key)});
        double[][] xy = new double[2][points.size()];
        for (int i = 0; i < points.size(); i++) {
            xy[0][i] = points.get(i)[0];
            xy[1][i] = points.get(i)[1];
        }
        return xy;
    }

    /** The last logged value of a metric, or NaN. */
    public double last(String key) {
        for (int i = rows.size() - 1; i >= 0; i--) if (rows.get(i).containsKey(key)) return rows.get(i).get(key);
        return Double.NaN;
    }

    /** Rewrites {@code metrics.csv}: one column per metric name (in order of first appearance), empty where absent. */
    public void writeCsv() {
        Set<String> columns = new LinkedHashSet<>();
        rows.forEach(row -> columns.addAll(row.keySet()));
        StringBuilder text = new StringBuilder(String.join(",", columns)).append('\n');
        for (Map<String, Double> row : rows) {
            List<String> cells = new ArrayList<>();
            for (String column : columns) {
                Double v = row.get(column);
                cells.add(v == null ? "" : column.equals("step") ? String.valueOf(v.longValue()) : String.valueOf(v));
            }
            text.append(String.join(",", cells)).append('\n');
        }
        try {
            AtomicFiles.writeString(csv, text.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + csv, e);
        }
    }

    /**
     * The rows without the {@code time/} metrics ({@link TrainingLoop#TIME}: wall times and throughput, which differ from
     * run to run), for comparing two runs step by step.
     */
    public static List<Map<String, Double>> withoutTimings(List<Map<String, Double>> rows) {
        List<Map<String, Double>> kept = new ArrayList<>(rows.size());
        for (Map<String, Double> row : rows) {
            Map<String, Double> copy = new LinkedHashMap<>(row);
            copy.keySet().removeIf(key -> key.startsWith(TrainingLoop.TIME));
            kept.add(copy);
        }
        return kept;
    }

    /** Reads a {@code metrics.jsonl} file; a line that is not JSON is an {@link InputError} naming the file and line. */
    public static List<Map<String, Double>> read(Path file) throws IOException {
        List<Map<String, Double>> rows = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) continue;
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new InputError(file.toString(), i + 1, null, "not valid JSON: " + e.getOriginalMessage(), e);
            }
            Map<String, Double> row = new LinkedHashMap<>();
            node.fields().forEachRemaining(e -> row.put(e.getKey(), e.getValue().asDouble()));
            rows.add(row);
        }
        return rows;
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        writeCsv();
    }
}
