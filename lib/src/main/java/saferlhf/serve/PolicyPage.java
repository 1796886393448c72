package saferlhf.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The page of one served policy: where it comes from, its training curves, and its rates and figures in a reproduction. */
final class PolicyPage {
    private PolicyPage() {}

    static String html(String name, Path folder, List<String> curves, ArenaServer.InReproduction reproduction) {
        String link = URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20"); // a path segment: a space is %20
        StringBuilder b = new StringBuilder("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
                .append(escape(name)).append("</title><style>body{font-family:sans-serif;max-width:900px;margin:2em auto;}"
                        + "td,th{padding:2px 10px;text-align:left}img{max-width:100%}</style></head><body>")
                .append("<p><a href=\"/\">&larr; the arena</a></p><h1>").append(escape(name)).append("</h1><p>model folder: <code>")
                .append(escape(folder.toString())).append("</code></p>");
        if (reproduction != null) {
            JsonNode r = reproduction.rates();
            b.append("<h2>In its reproduction: ").append(escape(reproduction.name())).append("</h2><table id=\"rates\">");
            row(b, "unsafe answers to harmful prompts", r.path("unsafe_rate_harmful"), true);
            row(b, "helpfulness on benign prompts", r.path("helpfulness_benign"), false);
            row(b, "over-refusal of benign prompts", r.path("over_refusal_benign"), true);
            row(b, "mean reward", r.path("mean_reward"), false);
            row(b, "mean cost (cost &gt; 0 means unsafe)", r.path("mean_cost"), false);
            row(b, "Elo", r.path("elo"), false);
            b.append("</table><p>Judged by the reproduction's judge on its evaluation prompts.</p>");
            for (String f : reproduction.figures()) b.append("<p><img alt=\"").append(f).append("\" src=\"/policy/").append(link).append("/figure/").append(f).append("\"></p>");
        }
        b.append("<h2>Training curves</h2>");
        if (curves.isEmpty()) b.append("<p>This folder has no <code>metrics.jsonl</code> beside it: no curves to show.</p>");
        for (String c : curves) {
            b.append("<p><img alt=\"").append(c).append("\" src=\"/policy/").append(link).append("/curve.png?metric=")
                    .append(URLEncoder.encode(c, StandardCharsets.UTF_8)).append("\"></p>");
        }
        return b.append("</body></html>").toString();
    }

    private static void row(StringBuilder b, String label, JsonNode value, boolean percent) {
        if (!value.isNumber()) return; // not measured: left out
        String shown = percent ? String.format(Locale.ROOT, "%.1f%%", 100 * value.asDouble())
                : String.format(Locale.ROOT, value.asDouble() >= 100 ? "%.0f" : "%.2f", value.asDouble());
        b.append("<tr><th>").append(label).append("</th><td>").append(shown).append("</td></tr>");
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
