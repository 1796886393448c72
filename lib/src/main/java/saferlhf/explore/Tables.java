package saferlhf.explore;

import java.io.StringWriter;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import saferlhf.eval.JudgeReport;
import saferlhf.eval.PolicySamples;
import saferlhf.beaverworld.Intent;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.beaverworld.ResponseKind;
import saferlhf.data.BeaverTailsEvalPrompt;
import saferlhf.data.BeaverTailsRecord;
import saferlhf.data.DataStats;
import saferlhf.data.HarmCategory;
import saferlhf.data.PreferencePair;
import saferlhf.data.PromptRecord;
import saferlhf.data.SafeRlhfRecord;
import saferlhf.data.SftRecord;
import tech.tablesaw.api.BooleanColumn;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.NumberColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;
import tech.tablesaw.columns.numbers.NumberColumnFormatter;
import tech.tablesaw.io.html.HtmlWriteOptions;
import tech.tablesaw.io.html.HtmlWriter;

/**
 * Tablesaw tables from the kit's record types, for exploration in a notebook
 * ({@code display("text/html", Tables.html(table))}) or a script. They hold the text, so build them from a sample
 * (for example the first 10,000 records) of the 300K-record sets; {@code saferlhf.data.DataStats} streams instead.
 */
public final class Tables {
    private Tables() {}

    /** One row per preference pair, with the reference's field names; v1 records add severities and sources. */
    public static Table preferences(String name, Iterable<? extends PreferencePair> pairs) {
        StringColumn prompt = StringColumn.create("prompt"), response0 = StringColumn.create("response_0"),
                response1 = StringColumn.create("response_1"), source = StringColumn.create("response_0_source");
        BooleanColumn safe0 = BooleanColumn.create("is_response_0_safe"), safe1 = BooleanColumn.create("is_response_1_safe");
        IntColumn better = IntColumn.create("better_response_id"), safer = IntColumn.create("safer_response_id"),
                severity0 = IntColumn.create("response_0_severity_level"), severity1 = IntColumn.create("response_1_severity_level");
        boolean v1 = false;
        for (PreferencePair pair : pairs) {
            prompt.append(pair.prompt());
            response0.append(pair.response0());
            response1.append(pair.response1());
            safe0.append(pair.isResponse0Safe());
            safe1.append(pair.isResponse1Safe());
            better.append(pair.betterResponseId());
            safer.append(pair.saferResponseId());
            if (pair instanceof SafeRlhfRecord record) {
                v1 = true;
                severity0.append(record.response0SeverityLevel());
                severity1.append(record.response1SeverityLevel());
                source.append(record.response0Source());
            } else {
                severity0.appendMissing();
                severity1.appendMissing();
                source.appendMissing();
            }
        }
        Table table = Table.create(name, prompt, response0, response1, safe0, safe1, better, safer);
        return v1 ? table.addColumns(severity0, severity1, source) : table;
    }

    /**
     * One row per response (two per pair): {@code prompt, response_id, response, is_safe, severity_level,
     * is_better, is_safer, words}. Severity is missing for v0 records.
     */
    public static Table responses(String name, Iterable<? extends PreferencePair> pairs) {
        StringColumn prompt = StringColumn.create("prompt"), response = StringColumn.create("response");
        IntColumn id = IntColumn.create("response_id"), severity = IntColumn.create("severity_level"),
                words = IntColumn.create("words");
        BooleanColumn safe = BooleanColumn.create("is_safe"), isBetter = BooleanColumn.create("is_better"),
                isSafer = BooleanColumn.create("is_safer");
        for (PreferencePair pair : pairs) {
            for (int i = 0; i < 2; i++) {
                prompt.append(pair.prompt());
                id.append(i);
                response.append(pair.response(i));
                safe.append(pair.isResponseSafe(i));
                if (pair instanceof SafeRlhfRecord record) severity.append(record.severityLevel(i));
                else severity.appendMissing();
                isBetter.append(pair.betterResponseId() == i);
                isSafer.append(pair.saferResponseId() == i);
                words.append(wordCount(pair.response(i)));
            }
        }
        return Table.create(name, prompt, id, response, safe, severity, isBetter, isSafer, words);
    }

    /** SFT demonstrations with their lengths in words. */
    public static Table sft(String name, Iterable<SftRecord> records) {
        StringColumn prompt = StringColumn.create("prompt"), response = StringColumn.create("response");
        IntColumn words = IntColumn.create("response_words");
        for (SftRecord r : records) {
            prompt.append(r.prompt());
            response.append(r.response());
            words.append(wordCount(r.response()));
        }
        return Table.create(name, prompt, response, words);
    }

    /** BeaverTails QA records: prompt, response, is_safe, the number of harm categories flagged. */
    public static Table beaverTails(String name, Iterable<BeaverTailsRecord> records) {
        StringColumn prompt = StringColumn.create("prompt"), response = StringColumn.create("response"),
                categories = StringColumn.create("categories");
        BooleanColumn safe = BooleanColumn.create("is_safe");
        for (BeaverTailsRecord r : records) {
            prompt.append(r.prompt());
            response.append(r.response());
            safe.append(r.isSafe());
            categories.append(String.join(";", r.category().stream().map(c -> c.key()).toList()));
        }
        return Table.create(name, prompt, response, safe, categories);
    }

    /** Prompt-only records: prompt and category (missing when absent). */
    public static Table prompts(String name, Iterable<PromptRecord> records) {
        StringColumn prompt = StringColumn.create("prompt"), category = StringColumn.create("category");
        for (PromptRecord r : records) {
            prompt.append(r.prompt());
            if (r.category() == null) category.appendMissing();
            else category.append(r.category());
        }
        return Table.create(name, prompt, category);
    }

    /** BeaverTails-Evaluation prompts: prompt, category key, category_id. */
    public static Table evalPrompts(String name, Iterable<BeaverTailsEvalPrompt> records) {
        StringColumn prompt = StringColumn.create("prompt"), category = StringColumn.create("category");
        IntColumn id = IntColumn.create("category_id");
        for (BeaverTailsEvalPrompt r : records) {
            prompt.append(r.prompt());
            category.append(r.category().key());
            id.append(r.categoryId());
        }
        return Table.create(name, prompt, category, id);
    }

    /**
     * Prompt-response pairs read by BeaverWorld's ground-truth judge: {@code prompt, intent, harmful_prompt, response,
     * helpfulness, is_safe, severity_level}. For a prompt the judge cannot rate (not a BeaverWorld prompt) the intent is
     * empty and the judge's columns are missing values.
     */
    public static Table judged(String name, Iterable<SftRecord> records, GroundTruthJudge judge) {
        StringColumn prompt = StringColumn.create("prompt"), intent = StringColumn.create("intent"),
                response = StringColumn.create("response");
        BooleanColumn harmful = BooleanColumn.create("harmful_prompt"), safe = BooleanColumn.create("is_safe");
        DoubleColumn helpfulness = DoubleColumn.create("helpfulness");
        IntColumn severity = IntColumn.create("severity_level");
        for (SftRecord r : records) {
            prompt.append(r.prompt());
            response.append(r.response());
            if (!judge.canRate(r.prompt())) {
                intent.append("");
                harmful.appendMissing();
                helpfulness.appendMissing();
                safe.appendMissing();
                severity.appendMissing();
                continue;
            }
            GroundTruthJudge.Verdict verdict = judge.judge(r.prompt(), r.response());
            intent.append(verdict.intent().map(Intent::name).orElse(""));
            harmful.append(verdict.intent().map(Intent::isHarmful).orElse(false));
            helpfulness.append(verdict.helpfulness());
            safe.append(verdict.harm().safe());
            severity.append(verdict.harm().severity());
        }
        return Table.create(name, prompt, intent, harmful, response, helpfulness, safe, severity);
    }

    /**
     * A policy's sampled responses with the judge's verdicts: prompt, category, response, EOS, helpfulness, is_safe (missing
     * values where the judge cannot rate the prompt).
     */
    public static Table samples(String name, List<PolicySamples.Sample> samples, GroundTruthJudge judge) {
        StringColumn prompt = StringColumn.create("prompt"), category = StringColumn.create("category"),
                response = StringColumn.create("response");
        BooleanColumn eos = BooleanColumn.create("eos"), safe = BooleanColumn.create("is_safe");
        DoubleColumn helpfulness = DoubleColumn.create("helpfulness");
        for (PolicySamples.Sample s : samples) {
            prompt.append(s.prompt().prompt());
            category.append(s.prompt().category() == null ? "" : s.prompt().category());
            response.append(s.response());
            eos.append(s.endedWithEos());
            if (!judge.canRate(s.prompt())) {
                helpfulness.appendMissing();
                safe.appendMissing();
                continue;
            }
            GroundTruthJudge.Verdict verdict = judge.judge(s.prompt().prompt(), s.response());
            helpfulness.append(verdict.helpfulness());
            safe.append(verdict.harm().safe());
        }
        return Table.create(name, prompt, category, response, eos, helpfulness, safe);
    }

    /**
     * The judge's headline numbers of several policies, a row each: unsafe rate on harmful prompts, helpfulness and
     * over-refusal on benign ones, and how many prompts of each kind were rated.
     */
    public static Table reports(String name, Map<String, JudgeReport> reports) {
        StringColumn policy = StringColumn.create("policy");
        Map<String, DoubleColumn> headline = new java.util.LinkedHashMap<>();
        IntColumn harmful = IntColumn.create("harmful prompts"), benign = IntColumn.create("benign prompts");
        reports.forEach((label, r) -> {
            policy.append(label);
            r.headline().forEach((metric, value) -> headline.computeIfAbsent(metric, DoubleColumn::create).append(value));
            harmful.append(r.harmfulPrompts());
            benign.append(r.benignPrompts());
        });
        Table table = Table.create(name, policy);
        headline.values().forEach(table::addColumns);
        return table.addColumns(harmful, benign);
    }

    /** A row per response kind and a column per named score (for example {@code PreferenceScores.meanByKind}'s). */
    public static Table byKind(String name, Map<String, Map<ResponseKind, Double>> columns) {
        StringColumn kinds = StringColumn.create("kind");
        for (ResponseKind kind : ResponseKind.values()) kinds.append(kind.name());
        Table table = Table.create(name, kinds);
        columns.forEach((column, means) -> {
            DoubleColumn values = DoubleColumn.create(column);
            for (ResponseKind kind : ResponseKind.values()) values.append(means.getOrDefault(kind, Double.NaN));
            table.addColumns(values);
        });
        return table;
    }

    /** A two-column table of labelled numbers (for example category counts), in the map's order. */
    public static Table counts(String name, String keyColumn, String valueColumn, Map<String, ? extends Number> values) {
        StringColumn keys = StringColumn.create(keyColumn);
        DoubleColumn numbers = DoubleColumn.create(valueColumn);
        values.forEach((k, v) -> {
            keys.append(k);
            numbers.append(v.doubleValue());
        });
        return Table.create(name, keys, numbers);
    }

    /**
     * A preference file's statistics at a glance (what {@code saferlhf data stats} prints in full): records, responses,
     * mean lengths, the share of safe responses, of pairs with both, one or no safe response, of pairs whose better
     * response is also the safer one, and the v1 invariants' violations.
     */
    public static Table stats(DataStats stats) {
        Map<String, String> rows = new java.util.LinkedHashMap<>();
        var json = stats.toJson();
        rows.put("format", stats.format().name());
        rows.put("pairs", String.format(Locale.ROOT, "%,d", stats.records()));
        rows.put("invalid records", String.format(Locale.ROOT, "%,d", stats.invalid()));
        rows.put("mean prompt length (chars)", String.format(Locale.ROOT, "%.1f", json.path("prompt_chars_mean").asDouble()));
        rows.put("mean response length (chars)", String.format(Locale.ROOT, "%.1f", json.path("response_chars_mean").asDouble()));
        rows.put("safe responses", share(stats.responsesSafe(), stats.responses()));
        long oneSafe = stats.records() - stats.bothSafe() - stats.bothUnsafe();
        rows.put("pairs: both responses safe", share(stats.bothSafe(), stats.records()));
        rows.put("pairs: one safe, one unsafe", share(oneSafe, stats.records()));
        rows.put("pairs: both unsafe", share(stats.bothUnsafe(), stats.records()));
        rows.put("pairs: the better response is the safer one", share(stats.betterEqualsSafer(), stats.records()));
        if (stats.invariants() != null) rows.put("v1 invariant violations", String.valueOf(stats.invariants().violations()));
        return Table.create(stats.format() + " statistics", StringColumn.create("statistic", rows.keySet()),
                StringColumn.create("value", rows.values()));
    }

    private static String share(long part, long whole) {
        return String.format(Locale.ROOT, "%,d (%.1f%%)", part, whole == 0 ? 0 : 100.0 * part / whole);
    }

    /**
     * One preference pair side by side: a row per field (the response, is it safe, its severity and harm categories,
     * is it the more helpful and the more harmless of the two), a column per response. The table's name is the prompt.
     */
    public static Table pair(SafeRlhfRecord r) {
        StringColumn field = StringColumn.create("");
        StringColumn[] response = {StringColumn.create("response 0"), StringColumn.create("response 1")};
        field.append("response").append("is safe").append("severity").append("harm categories")
                .append("more helpful (better_response_id)").append("more harmless (safer_response_id)");
        for (int id = 0; id < 2; id++) {
            Set<HarmCategory> categories = r.harmCategory(id);
            response[id].append(r.response(id))
                    .append(String.valueOf(r.isResponseSafe(id)))
                    .append(String.valueOf(r.severityLevel(id)))
                    .append(categories.isEmpty() ? "none" : categories.stream().map(HarmCategory::key).collect(Collectors.joining(", ")))
                    .append(r.betterResponseId() == id ? "yes" : "no")
                    .append(r.saferResponseId() == id ? "yes" : "no");
        }
        return Table.create("prompt: " + r.prompt(), field, response[0], response[1]);
    }

    /** Text cells longer than this are cut in {@link #html(Table)}. */
    public static final int HTML_TEXT_CHARS = 90;

    /**
     * The table as HTML for a notebook ({@code display("text/html", Tables.html(table))}), legible at a page's width:
     * the name as a heading line, numbers with at most 3 decimals, text cut to {@value #HTML_TEXT_CHARS} characters
     * (with an ellipsis). The table itself is not changed.
     */
    public static String html(Table table) { return html(table, HTML_TEXT_CHARS); }

    /** {@link #html(Table)} with text cut to {@code maxChars} characters. */
    public static String html(Table table, int maxChars) {
        Table shown = table.copy();
        for (Column<?> column : shown.columns()) {
            if (column instanceof NumberColumn<?, ?> numbers) {
                numbers.setPrintFormatter(new NumberColumnFormatter(new DecimalFormat("#,##0.###", DecimalFormatSymbols.getInstance(Locale.ROOT))));
            } else if (column instanceof StringColumn text) {
                for (int i = 0; i < text.size(); i++) {
                    String value = text.get(i);
                    if (value.length() > maxChars) text.set(i, value.substring(0, maxChars - 1) + "…");
                }
            }
        }
        StringWriter out = new StringWriter();
        new HtmlWriter().write(shown, HtmlWriteOptions.builder(out).build());
        String heading = shown.name() == null || shown.name().isBlank() ? ""
                : "<p><b>" + org.jsoup.nodes.Entities.escape(shown.name()) + "</b></p>\n";
        return heading + out;
    }

    static int wordCount(String text) {
        String trimmed = text.strip();
        return trimmed.isEmpty() ? 0 : trimmed.split("\\s+").length;
    }
}
