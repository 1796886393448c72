package saferlhf.explore;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;

/**
 * XChart helpers: bar charts, histograms and line charts that save as PNG and show inline in a notebook
 * ({@code display(Charts.image(chart))} on a Java kernel). Runs headless.
 */
public final class Charts {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    public static final int WIDTH = 800;
    public static final int HEIGHT = 450;

    private Charts() {}

    /** A bar chart of labelled counts or values, in the map's iteration order. */
    public static CategoryChart bar(String title, String xLabel, String yLabel, Map<String, ? extends Number> values) {
        CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setXAxisLabelRotation(45);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.addSeries(yLabel, new ArrayList<>(values.keySet()), new ArrayList<Number>(values.values()));
        return chart;
    }

    /**
     * Overlaid histograms with shared bins, one series per map entry (for example the costs of safe and of unsafe
     * responses). Each series is drawn as a step line over {@code bins} equal-width bins spanning all values.
     */
    public static XYChart histogram(String title, String xLabel, Map<String, double[]> series, int bins) {
        if (bins < 1) throw new IllegalArgumentException("bins must be >= 1");
        double min = series.values().stream().flatMapToDouble(Arrays::stream).min().orElse(0);
        double max = series.values().stream().flatMapToDouble(Arrays::stream).max().orElse(1);
        if (max <= min) max = min + 1;
        double width = (max - min) / bins;
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xLabel).yAxisTitle("count").build();
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        // filled areas read well for one or two series; more overlap into mud, so they are drawn as outlines
        chart.getStyler().setDefaultSeriesRenderStyle(series.size() <= 2 ? org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Area
                : org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Line);
        chart.getStyler().setXAxisDecimalPattern("#0.##");
        chart.getStyler().setMarkerSize(0);
        for (Map.Entry<String, double[]> entry : series.entrySet()) {
            double[] counts = new double[bins];
            for (double v : entry.getValue()) counts[Math.min(bins - 1, (int) ((v - min) / width))]++;
            // a step outline: two points per bin
            double[] x = new double[2 * bins];
            double[] y = new double[2 * bins];
            for (int b = 0; b < bins; b++) {
                x[2 * b] = min + b * width;
                x[2 * b + 1] = min + (b + 1) * width;
                y[2 * b] = counts[b];
                y[2 * b + 1] = counts[b];
            }
            chart.addSeries(entry.getKey(), x, y);
        }
        return chart;
    }

    /** One histogram of a single series. */
    public static XYChart histogram(String title, String xLabel, double[] values, int bins) {
        return histogram(title, xLabel, Map.of(xLabel, values), bins);
    }

    /** A line chart: each series is {@code {x[], y[]}}. */
    public static XYChart line(String title, String xLabel, String yLabel, Map<String, double[][]> series) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setMarkerSize(0);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        for (Map.Entry<String, double[][]> entry : series.entrySet()) {
            chart.addSeries(entry.getKey(), entry.getValue()[0], entry.getValue()[1]);
        }
        return chart;
    }

    /** A line chart of one series {@code y} against its index. */
    public static XYChart line(String title, String xLabel, String yLabel, List<? extends Number> y) {
        double[] xs = new double[y.size()];
        double[] ys = new double[y.size()];
        for (int i = 0; i < ys.length; i++) {
            xs[i] = i;
            ys[i] = y.get(i).doubleValue();
        }
        return line(title, xLabel, yLabel, Map.of(yLabel, new double[][] {xs, ys}));
    }

    /**
     * Grouped bars: one group per category (every key of the inner maps, in order of appearance), one bar per series in
     * each group (for example: a group per metric, a bar per policy); a series without a category has no bar there.
     */
    public static CategoryChart groupedBars(String title, String yLabel, Map<String, ? extends Map<String, ? extends Number>> series) {
        CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title).yAxisTitle(yLabel).build();
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setDecimalPattern("#0.##");
        List<String> categories = new ArrayList<>(series.values().stream().flatMap(m -> m.keySet().stream())
                .collect(java.util.stream.Collectors.toCollection(java.util.LinkedHashSet::new)));
        // a few groups leave room for long series names below the plot; many groups need the height for their labels
        // outside the plot: a row below for a few series, a column to the right for more
        chart.getStyler().setLegendPosition(series.size() > 4 ? Styler.LegendPosition.OutsideE : Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(series.size() > 4 ? Styler.LegendLayout.Vertical : Styler.LegendLayout.Horizontal);
        if (categories.size() > 4) chart.getStyler().setXAxisLabelRotation(45);
        series.forEach((name, values) -> chart.addSeries(name, categories,
                categories.stream().map(c -> (Number) values.get(c)).toList()));
        return chart;
    }

    /**
     * The judge's headline numbers of several policies as grouped bars: a group per metric ({@link
     * saferlhf.eval.JudgeReport#headline}: unsafe rate on harmful prompts, helpfulness and over-refusal on benign ones), a
     * bar per policy. Rates are fractions, helpfulness is the judge's scale; a metric the judge could not compute is left
     * out of its group.
     */
    public static CategoryChart reports(String title, Map<String, saferlhf.eval.JudgeReport> reports) {
        Map<String, Map<String, Double>> series = new java.util.LinkedHashMap<>();
        reports.forEach((policy, r) -> {
            Map<String, Double> values = r.headline();
            values.values().removeIf(v -> Double.isNaN(v));
            series.put(policy, values);
        });
        return groupedBars(title, "rate / helpfulness", series);
    }

    /**
     * Draws a dashed horizontal line at {@code y} across the chart's series (for example the cost threshold), on the
     * given y-axis group (0: the left axis, 1: the right one); returns the chart.
     */
    public static XYChart horizontalLine(XYChart chart, String name, double y, int yAxisGroup) {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (org.knowm.xchart.XYSeries series : chart.getSeriesMap().values()) {
            for (double x : series.getXData()) {
                min = Math.min(min, x);
                max = Math.max(max, x);
            }
        }
        if (min > max) { min = 0; max = 1; }
        org.knowm.xchart.XYSeries line = chart.addSeries(name, new double[] {min, max}, new double[] {y, y});
        line.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.DASH_DASH);
        line.setLineColor(java.awt.Color.DARK_GRAY);
        line.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
        line.setYAxisGroup(yAxisGroup);
        return chart;
    }

    /**
     * Draws a dashed vertical line at {@code x} from 0 to the highest point of the chart's series (for example cost 0,
     * where unsafe begins, or the threshold d on a histogram of costs); returns the chart.
     */
    public static XYChart verticalLine(XYChart chart, String name, double x, java.awt.Color color) {
        double max = 0;
        for (org.knowm.xchart.XYSeries series : chart.getSeriesMap().values()) {
            for (double y : series.getYData()) max = Math.max(max, y);
        }
        org.knowm.xchart.XYSeries line = chart.addSeries(name, new double[] {x, x}, new double[] {0, max > 0 ? max : 1});
        line.setXYSeriesRenderStyle(org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Line);
        line.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.DASH_DASH);
        line.setLineColor(color);
        line.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.NONE);
        return chart;
    }

    /** The chart as an image, for {@code display(...)} in a notebook. */
    public static BufferedImage image(Chart<?, ?> chart) {
        return BitmapEncoder.getBufferedImage(chart);
    }

    /** Saves the chart as a PNG file (parent folders created) and returns the path. */
    public static Path savePng(Chart<?, ?> chart, Path file) {
        try {
            if (file.getParent() != null) Files.createDirectories(file.getParent());
            String name = file.toString();
            String base = name.endsWith(".png") ? name.substring(0, name.length() - 4) : name;
            BitmapEncoder.saveBitmap(chart, base, BitmapEncoder.BitmapFormat.PNG);
            return Path.of(base + ".png");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write chart " + file, e);
        }
    }
}
