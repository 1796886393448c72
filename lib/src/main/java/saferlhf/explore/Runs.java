package saferlhf.explore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.XYChart;
import saferlhf.train.MetricsLog;

/** Charts of a run folder's {@code metrics.jsonl}. */
public final class Runs {
    private Runs() {}

    /** A line chart of the given metrics against the optimizer step (each metric over the steps that logged it). */
    public static XYChart curve(Path runDir, String title, String... metrics) {
        List<Map<String, Double>> rows;
        try {
            rows = MetricsLog.read(runDir.resolve("metrics.jsonl"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the metrics of " + runDir, e);
        }
        Map<String, double[][]> series = new LinkedHashMap<>();
        for (String metric : metrics) {
            List<Map<String, Double>> having = rows.stream().filter(r -> r.containsKey(metric)).toList();
            if (having.isEmpty()) throw new IllegalArgumentException(runDir + ": no metric '" + metric + "' in metrics.jsonl");
            double[][] xy = new double[2][having.size()];
            for (int i = 0; i < having.size(); i++) {
                xy[0][i] = having.get(i).get("step");
                xy[1][i] = having.get(i).get(metric);
            }
            series.put(metric, xy);
        }
        return Charts.line(title, "step", String.join(", ", metrics), series);
    }
}
