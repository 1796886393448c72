package saferlhf.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import saferlhf.data.DataError;
import saferlhf.data.DataReader;
import saferlhf.data.DataRecord;
import saferlhf.data.Datasets;
import saferlhf.data.DialogueRecord;
import saferlhf.data.Located;
import saferlhf.data.PreferencePair;
import saferlhf.data.PromptRecord;
import saferlhf.data.SftRecord;

/** Loading a stage's data from the reference's {@code NAME[:PROPORTION[:PATH]]} specs (comma-separated mixtures). */
public final class Data {
    private Data() {}

    /** A spec that can only mean a file: a path that starts like one, or a data file's extension, and no registered name. */
    private static boolean looksLikeAFile(String spec) {
        String name = spec.split(":", -1)[0];
        if (Datasets.names().contains(name) || Datasets.aliases().containsKey(name)) return false;
        return spec.startsWith("/") || spec.startsWith("./") || spec.startsWith("../") || spec.startsWith("~")
                || spec.matches(".*\\.(jsonl|json|gz|xz)$");
    }

    /** The specs of a comma-separated list; empty for a blank string. */
    public static List<String> specs(String datasets) {
        if (datasets == null || datasets.isBlank()) return List.of();
        return Arrays.stream(datasets.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /**
     * Every record of the mixture (seeded subsets). A spec that names an existing file or folder instead of a
     * registered data set is read whole; one that looks like a file ({@code /...}, {@code ./...}, {@code ...jsonl})
     * but is not there is a {@link DataError} naming the path it looked for.
     */
    public static List<DataRecord> load(String datasets, long seed) {
        return loadLocated(datasets, seed).stream().map(Located::record).toList();
    }

    /** As {@link #load}, each record with the file and line it was read from (for errors found after mixing). */
    public static List<Located<DataRecord>> loadLocated(String datasets, long seed) {
        List<String> named = new ArrayList<>();
        List<Located<DataRecord>> records = new ArrayList<>();
        for (String spec : specs(datasets)) {
            java.nio.file.Path path = saferlhf.KitPaths.resolve(spec);
            if (!Datasets.names().contains(spec) && java.nio.file.Files.exists(path)) {
                try (var stream = DataReader.open(path, saferlhf.data.ReadOptions.defaults()).located()) {
                    stream.forEach(records::add);
                }
            } else if (looksLikeAFile(spec)) {
                throw new DataError(path.toString(), 0, null, "no such file or folder (and not a registered data set name)");
            } else {
                named.add(spec);
            }
        }
        if (!named.isEmpty()) records.addAll(Datasets.loadLocated(named, seed));
        return records;
    }

    /**
     * SFT demonstrations, single-turn records as dialogues of two turns; fails naming the data set when a record is of
     * another kind.
     */
    public static List<DialogueRecord> sft(String datasets, long seed) {
        List<DialogueRecord> out = new ArrayList<>();
        for (DataRecord record : load(datasets, seed)) {
            DialogueRecord demonstration = demonstration(record);
            if (demonstration == null) {
                throw new saferlhf.util.InputError(datasets + ": expected SftRecord or DialogueRecord records, found "
                        + record.getClass().getSimpleName());
            }
            out.add(demonstration);
        }
        return out;
    }

    /** A demonstration as a dialogue (a single-turn {@link SftRecord} gives its two turns), or null for other records. */
    public static DialogueRecord demonstration(DataRecord record) {
        if (record instanceof DialogueRecord d) return d;
        if (record instanceof SftRecord s) return DialogueRecord.of(s);
        return null;
    }

    /** Preference pairs (PKU-SafeRLHF v0 or v1). */
    public static List<PreferencePair> preferences(String datasets, long seed) {
        return locatedPreferences(datasets, seed).stream().map(Located::record).toList();
    }

    /** As {@link #preferences}, each pair with the file and line it was read from. */
    public static List<Located<PreferencePair>> locatedPreferences(String datasets, long seed) {
        List<Located<PreferencePair>> out = new ArrayList<>();
        for (Located<DataRecord> r : loadLocated(datasets, seed)) {
            out.add(r.with(cast(r.record(), PreferencePair.class, datasets)));
        }
        return out;
    }

    /**
     * Prompts of any record kind; duplicates removed, as the reference's PromptOnlyDataset does. A prompt keeps the
     * category its record gives (BeaverTails-Evaluation's key, a prompt set's free text).
     */
    public static List<PromptRecord> prompts(String datasets, long seed) {
        List<PromptRecord> prompts = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (DataRecord record : load(datasets, seed)) {
            PromptRecord prompt = DataReader.toPrompt(record);
            if (seen.add(prompt.prompt())) prompts.add(prompt);
        }
        return prompts;
    }

    /**
     * A stage cannot train on nothing: an input error naming the data sets of {@code key} when {@code items} is empty,
     * e.g. {@code data/empty.jsonl: no pairs (train_datasets)}.
     */
    public static void requireSome(List<?> items, String key, String datasets, String what) {
        if (items.isEmpty()) throw new saferlhf.util.InputError(datasets, 0, null, "no " + what + " (" + key + ")", null);
    }

    private static <T> T cast(DataRecord record, Class<T> type, String datasets) {
        if (!type.isInstance(record)) {
            throw new saferlhf.util.InputError(datasets + ": expected " + type.getSimpleName() + " records, found "
                    + record.getClass().getSimpleName());
        }
        return type.cast(record);
    }
}
