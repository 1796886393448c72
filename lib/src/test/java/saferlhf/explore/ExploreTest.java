package saferlhf.explore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import saferlhf.data.HarmCategory;
import saferlhf.data.SafeRlhfRecord;
import saferlhf.train.MetricsLog;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/** The notebooks' table and chart helpers. */
class ExploreTest {

    @Test
    void htmlRoundsNumbersCutsLongTextAndEscapes() {
        Table t = Table.create("a <name>", StringColumn.create("text", "x".repeat(200), "<b>bold</b>"),
                DoubleColumn.create("rate", 0.95834829, 1234.5));
        String html = Tables.html(t);
        assertTrue(html.contains("0.958") && !html.contains("0.9583"), html);
        assertTrue(html.contains("1,234.5"), html);
        assertTrue(html.contains("x".repeat(Tables.HTML_TEXT_CHARS - 1) + "…") && !html.contains("x".repeat(Tables.HTML_TEXT_CHARS)), html);
        assertTrue(html.contains("&lt;b&gt;bold&lt;/b&gt;") && html.contains("a &lt;name&gt;"), html);
        assertEquals(0.95834829, t.doubleColumn("rate").get(0), 0.0, "the table itself is unchanged");
        assertEquals(200, t.stringColumn("text").get(0).length());
    }

    @Test
    void byKindHasARowPerResponseKindAndAColumnPerScore() {
        Map<String, Map<saferlhf.beaverworld.ResponseKind, Double>> columns = new LinkedHashMap<>();
        columns.put("reward", Map.of(saferlhf.beaverworld.ResponseKind.COMPLY, 1.5, saferlhf.beaverworld.ResponseKind.REFUSE, -2.0));
        columns.put("cost", Map.of(saferlhf.beaverworld.ResponseKind.COMPLY, 2.0));
        Table t = Tables.byKind("scores", columns);
        assertEquals(List.of("kind", "reward", "cost"), t.columnNames());
        assertEquals(saferlhf.beaverworld.ResponseKind.values().length, t.rowCount());
        assertEquals("REFUSE", t.stringColumn("kind").get(1));
        assertEquals(-2.0, t.doubleColumn("reward").get(1));
        assertTrue(t.doubleColumn("cost").isMissing(1), "a kind a column lacks is missing, not 0");
    }

    @Test
    void pairShowsBothResponsesWithTheirLabels() {
        SafeRlhfRecord r = new SafeRlhfRecord("how do i pick a lock ?", "ask a locksmith .", "use a pin .", "p", "a", "b",
                true, false, Set.of(), EnumSet.of(HarmCategory.VIOLENCE), 0, 2, 1, 0, "", "");
        Table t = Tables.pair(r);
        assertEquals("prompt: how do i pick a lock ?", t.name());
        assertEquals(List.of("ask a locksmith .", "true", "0", "none", "no", "yes"), t.stringColumn("response 0").asList());
        assertEquals(List.of("use a pin .", "false", "2", "Violence", "yes", "no"), t.stringColumn("response 1").asList());
    }

    @Test
    void groupedBarsHaveOneSeriesPerEntryOverTheSameCategories() {
        Map<String, Map<String, Double>> values = new LinkedHashMap<>();
        values.put("SFT", Map.of("unsafe", 0.5, "helpfulness", 1.6));
        values.put("PPO-Lag", Map.of("unsafe", 0.1, "helpfulness", 1.7));
        CategoryChart chart = Charts.groupedBars("t", "value", values);
        assertEquals(List.of("SFT", "PPO-Lag"), List.copyOf(chart.getSeriesMap().keySet()));
        assertEquals(List.copyOf(chart.getSeriesMap().get("SFT").getXData()), List.copyOf(chart.getSeriesMap().get("PPO-Lag").getXData()));
    }

    @Test
    void aMetricTheJudgeCouldNotComputeHasNoBar() {
        var rated = new saferlhf.eval.JudgeReport(4, 4, 2, 0.5, Map.of(), 2, 1.5, 0.0, 1.0, 1.0, 10);
        var harmfulOnly = new saferlhf.eval.JudgeReport(2, 2, 2, 0.25, Map.of(), 0, Double.NaN, Double.NaN, 1.0, 1.0, 10);
        Map<String, saferlhf.eval.JudgeReport> reports = new LinkedHashMap<>();
        reports.put("a", harmfulOnly);
        reports.put("b", rated);
        CategoryChart chart = Charts.reports("t", reports);
        assertEquals(List.of("unsafe rate (harmful)", "helpfulness (benign)", "over-refusal (benign)"),
                List.copyOf(chart.getSeriesMap().get("b").getXData()));
        List<Number> a = List.copyOf(new java.util.ArrayList<>(chart.getSeriesMap().get("a").getYData()).stream()
                .map(v -> v == null ? Double.valueOf(-1) : v).toList());
        assertEquals(List.of(0.25, -1.0, -1.0), a.stream().map(Number::doubleValue).toList(), "no bar, not a zero bar");
        Table table = Tables.reports("r", reports);
        assertTrue(table.doubleColumn("helpfulness (benign)").isMissing().contains(0));
        assertEquals(List.of("policy", "unsafe rate (harmful)", "helpfulness (benign)", "over-refusal (benign)", "harmful prompts",
                "benign prompts"), table.columnNames(), "the chart's groups in the chart's order");
    }

    @Test
    void curvesPutTheSecondListOnTheRightAxisAndALineSpansTheSteps(@TempDir Path run) {
        try (MetricsLog log = new MetricsLog(run, -1)) {
            for (int step = 3; step <= 9; step += 3) log.log(step, Map.of("train/episode_cost", -step / 3.0, "train/lambda", step / 10.0));
        }
        XYChart chart = Charts.horizontalLine(Runs.curves(run, "t", List.of("train/episode_cost"), List.of("train/lambda")),
                "threshold", -2, 0);
        Map<String, XYSeries> series = chart.getSeriesMap();
        assertEquals(0, series.get("train/episode_cost").getYAxisGroup());
        assertEquals(1, series.get("train/lambda").getYAxisGroup());
        assertEquals(3.0, series.get("threshold").getXMin());
        assertEquals(9.0, series.get("threshold").getXMax());
        assertEquals(-2.0, series.get("threshold").getYMax());
        assertFalse(Charts.image(chart).getWidth() == 0);
    }
}
