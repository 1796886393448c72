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
        return Charts.line(title, "step", String.join(", ", metrics), series(read(runDir), runDir, List.of(metrics)));
    }

    /**
     * Metrics of two scales on two y axes (for example a loss on the left, an accuracy or lambda on the right), against
     * the optimizer step.
     */
    public static XYChart curves(Path runDir, String title, List<String> leftAxis, List<String> rightAxis) {
        List<Map<String, Double>> rows = read(runDir);
        XYChart chart = Charts.line(title, "step", String.join(", ", leftAxis), series(rows, runDir, leftAxis));
        series(rows, runDir, rightAxis).forEach((name, xy) -> chart.addSeries(name, xy[0], xy[1]).setYAxisGroup(1));
        chart.setYAxisGroupTitle(1, String.join(", ", rightAxis));
        chart.getStyler().setYAxisGroupPosition(1, org.knowm.xchart.style.Styler.YAxisPosition.Right);
        return chart;
    }

    private static List<Map<String, Double>> read(Path runDir) {
        try {
            return MetricsLog.read(runDir.resolve("metrics.jsonl"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the metrics of " + runDir, e);
        }
    }

    /** Each metric as {@code {steps[], values[]}} over the rows that logged it. */
    private static Map<String, double[][]> series(List<Map<String, Double>> rows, Path runDir, List<String> metrics) {
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
        return series;
    }
}
