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

    /** Steps smoothed over by {@link #curve} and {@link #curves}: an exponential moving average of this span. */
    public static final int SMOOTHING_SPAN = 10;

    /**
     * A line chart of the given metrics against the optimizer step (each metric over the steps that logged it): each
     * metric smoothed (an exponential moving average over about {@value #SMOOTHING_SPAN} steps) over its raw points drawn
     * faint in the same colour.
     */
    public static XYChart curve(Path runDir, String title, String... metrics) {
        XYChart chart = stepChart(title, "step", String.join(", ", metrics));
        smoothed(chart, series(read(runDir), runDir, List.of(metrics)), 0);
        return chart;
    }

    /** An empty line chart against optimizer steps: whole numbers without separators, ticks far enough apart to read. */
    private static XYChart stepChart(String title, String xLabel, String yLabel) {
        XYChart chart = Charts.line(title, xLabel, yLabel, Map.of());
        chart.getStyler().setXAxisDecimalPattern("#0");
        chart.getStyler().setXAxisTickMarkSpacingHint(90);
        return chart;
    }

    /** Adds each series raw (faint) and smoothed, colour by colour, on y-axis group {@code axis}. */
    private static void smoothed(XYChart chart, Map<String, double[][]> series, int axis) {
        java.awt.Color[] palette = {new java.awt.Color(31, 119, 180), new java.awt.Color(214, 39, 40), new java.awt.Color(44, 160, 44),
                new java.awt.Color(148, 103, 189), new java.awt.Color(255, 127, 14)};
        int next = chart.getSeriesMap().size() / 2;
        for (Map.Entry<String, double[][]> e : series.entrySet()) {
            java.awt.Color color = palette[next++ % palette.length];
            double[] x = e.getValue()[0], y = e.getValue()[1];
            var raw = chart.addSeries(e.getKey() + " (each step)", x, y);
            raw.setLineColor(new java.awt.Color(color.getRed(), color.getGreen(), color.getBlue(), 60));
            raw.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
            raw.setShowInLegend(false);
            raw.setYAxisGroup(axis);
            var smooth = chart.addSeries(e.getKey(), x, ema(y, SMOOTHING_SPAN));
            smooth.setLineColor(color);
            smooth.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
            smooth.setYAxisGroup(axis);
        }
    }

    /** The exponential moving average with alpha = 2 / (span + 1), started at the first value. */
    static double[] ema(double[] y, int span) {
        double alpha = 2.0 / (span + 1);
        double[] out = new double[y.length];
        for (int i = 0; i < y.length; i++) out[i] = i == 0 ? y[0] : alpha * y[i] + (1 - alpha) * out[i - 1];
        return out;
    }

    /**
     * Metrics of two scales on two y axes (for example a loss on the left, an accuracy or lambda on the right), against
     * the optimizer step.
     */
    public static XYChart curves(Path runDir, String title, List<String> leftAxis, List<String> rightAxis) {
        List<Map<String, Double>> rows = read(runDir);
        XYChart chart = stepChart(title, "step", String.join(", ", leftAxis));
        smoothed(chart, series(rows, runDir, leftAxis), 0);
        smoothed(chart, series(rows, runDir, rightAxis), 1);
        chart.setYAxisGroupTitle(1, String.join(", ", rightAxis));
        chart.getStyler().setYAxisGroupPosition(1, org.knowm.xchart.style.Styler.YAxisPosition.Right);
        return chart;
    }

    /**
     * The episode cost (left axis) and lambda (right axis) of PPO-Lagrangian's rounds one after another on one step axis,
     * each round's threshold (d1, d2, ...) dashed over its own steps: the paper's view of the multiplier across rounds.
     */
    public static XYChart rounds(String title, List<Path> runDirs, List<Double> thresholds) {
        XYChart chart = stepChart(title, "rl step, rounds one after another", "episode cost");
        double offset = 0;
        for (int k = 0; k < runDirs.size(); k++) {
            Map<String, double[][]> s = series(read(runDirs.get(k)), runDirs.get(k), List.of("train/episode_cost", "train/lambda"));
            double[][] cost = s.get("train/episode_cost"), lambda = s.get("train/lambda");
            double first = offset, last = offset;
            for (double[][] xy : List.of(cost, lambda)) {
                for (int i = 0; i < xy[0].length; i++) xy[0][i] += offset;
                last = Math.max(last, xy[0][xy[0].length - 1]);
            }
            String round = "round " + (k + 1);
            var c = chart.addSeries("episode cost, " + round, cost[0], cost[1]);
            c.setLineColor(new java.awt.Color(31, 119, 180));
            c.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
            c.setShowInLegend(k == 0);
            if (k == 0) c.setLabel("episode cost (left)");
            var l = chart.addSeries("lambda, " + round, lambda[0], lambda[1]);
            l.setLineColor(new java.awt.Color(214, 39, 40));
            l.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
            l.setYAxisGroup(1);
            l.setShowInLegend(k == 0);
            if (k == 0) l.setLabel("lambda (right)");
            var d = chart.addSeries(String.format(java.util.Locale.ROOT, "d%d = %.2f", k + 1, thresholds.get(k)),
                    new double[] {first, last}, new double[] {thresholds.get(k), thresholds.get(k)});
            d.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.DASH_DASH);
            d.setLineColor(java.awt.Color.DARK_GRAY);
            d.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
            offset = last;
        }
        chart.setYAxisGroupTitle(1, "lambda");
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
