package saferlhf.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import saferlhf.KitPaths;
import saferlhf.util.InputError;

/**
 * Named data sets and the reference's mixing syntax {@code NAME[:PROPORTION[:PATH]]}
 * ({@code safe_rlhf/datasets/base.py::parse_dataset} and {@code TokenizedDataset._merge_raw_datasets}).
 *
 * <p>Registry: the kit's BeaverWorld sets under {@code <projectRoot>/datasets/beaverworld/}, and the real PKU-Alignment
 * sets, which resolve to a user-placed Hugging Face hub snapshot {@code <projectRoot>/datasets/<RepoName>/} (for example
 * {@code huggingface-cli download PKU-Alignment/PKU-SafeRLHF --repo-type dataset --local-dir datasets/PKU-SafeRLHF}).
 * A spec's PATH replaces that snapshot folder (or names a data file directly). Real names also answer to
 * {@code PKU-Alignment/<name>}.
 *
 * <p>Mixing: proportion {@code p} selects {@code round(n * p)} records (Python's round half to even); while that is at
 * least {@code n}, the whole set is taken again in order, and the remainder is drawn at random without replacement.
 * {@code "N/-1"} selects exactly {@code N} records the same way; {@code "a/b"} is the float a/b; 0 skips the set.
 * The random draw uses one {@link SplittableRandom} per kept data set, split in order from {@code new
 * SplittableRandom(seed)} (default seed 42), standing in for numpy's {@code SeedSequence(seed).spawn(n)}: it is
 * deterministic for a seed, but it cannot reproduce numpy's generator, so the selected records differ from the
 * reference's.
 */
public final class Datasets {
    private Datasets() {}

    /** The reference's default seed. */
    public static final long DEFAULT_SEED = 42;

    private record Entry(String root, String sub, String split, String hubRepo) {}

    private static final Map<String, Entry> REGISTRY = new LinkedHashMap<>();
    private static final Map<String, String> ALIASES = new LinkedHashMap<>();

    static {
        bw("BeaverWorld/train", "preference", "train");
        bw("BeaverWorld/test", "preference", "test");
        bw("BeaverWorld-SFT/train", "sft", "train");
        bw("BeaverWorld-RL/train", "rl/prompts.jsonl", null);
        bw("BeaverWorld-Eval/harmful", "eval/harmful.jsonl", null);
        bw("BeaverWorld-Eval/benign", "eval/benign.jsonl", null);
        hub("PKU-SafeRLHF/train", "PKU-SafeRLHF", null, "train");
        hub("PKU-SafeRLHF/test", "PKU-SafeRLHF", null, "test");
        hub("PKU-SafeRLHF-30K/train", "PKU-SafeRLHF-30K", null, "train");
        hub("PKU-SafeRLHF-30K/test", "PKU-SafeRLHF-30K", null, "test");
        hub("PKU-SafeRLHF-10K/train", "PKU-SafeRLHF-10K", null, "train");
        hub("BeaverTails/30k_train", "BeaverTails", "round0/30k", "train");
        hub("BeaverTails/30k_test", "BeaverTails", "round0/30k", "test");
        hub("BeaverTails/330k_train", "BeaverTails", "round0/330k", "train");
        hub("BeaverTails/330k_test", "BeaverTails", "round0/330k", "test");
        hub("BeaverTails-Evaluation/test", "BeaverTails-Evaluation", null, "test");
        hub("hh-rlhf-dialogue", "processed-hh-rlhf", null, "train"); // dialogues (context + chosen) for SFT
        hub("hh-rlhf-harmless-dialogue", "processed-hh-rlhf", "harmless-base", "train");
        hub("hh-rlhf-helpful-dialogue", "processed-hh-rlhf", "helpful-base", "train");
    }

    private static void bw(String name, String sub, String split) {
        REGISTRY.put(name, new Entry("beaverworld", sub, split, null));
    }

    private static void hub(String name, String repo, String sub, String split) {
        REGISTRY.put(name, new Entry(repo, sub, split, "PKU-Alignment/" + repo));
        ALIASES.put("PKU-Alignment/" + name, name);
    }

    /** The registered names (aliases not included), in registration order. */
    public static List<String> names() { return List.copyOf(REGISTRY.keySet()); }

    /** The alias map, {@code PKU-Alignment/<name>} to name. */
    public static Map<String, String> aliases() { return Collections.unmodifiableMap(ALIASES); }

    /**
     * One parsed {@code NAME[:PROPORTION[:PATH]]}.
     *
     * @param proportion the float proportion (1 by default); ignored when {@code exactCount >= 0}
     * @param exactCount N for {@code "N/-1"}, else -1
     * @param path       the PATH part ({@code ~} expanded), or null
     */
    public record Spec(String name, double proportion, long exactCount, Path path) {
        public Spec {
            if (name == null || name.isEmpty()) throw new InputError("empty data set name");
            if (exactCount < 0 && (proportion < 0 || Double.isNaN(proportion))) {
                throw new InputError("data set '" + name + "': proportion must be >= 0, got " + proportion);
            }
        }

        /** Parses {@code NAME[:PROPORTION[:PATH]]}, as the reference's {@code parse_dataset}. */
        public static Spec parse(String text) {
            if (text.chars().filter(c -> c == ':').count() > 2) {
                throw new InputError("invalid data set string '" + text
                        + "': expected NAME[:PROPORTION[:PATH]] (at most two colons)");
            }
            String[] parts = text.split(":", -1);
            String name = parts[0];
            double proportion = 1.0;
            long exact = -1;
            if (parts.length > 1) {
                String p = parts[1].strip();
                try {
                    if (p.contains("/")) {
                        String[] lr = p.split("/", -1);
                        if (lr.length != 2) throw new NumberFormatException();
                        if (lr[1].strip().equals("-1")) {
                            exact = Long.parseLong(lr[0].strip());
                            if (exact < 0) throw new InputError("data set '" + name + "': N/-1 needs N >= 0");
                            if (exact == 0) {
                                exact = -1;
                                proportion = 0.0;
                            }
                        } else {
                            proportion = Double.parseDouble(lr[0].strip()) / Double.parseDouble(lr[1].strip());
                        }
                    } else if (!p.isEmpty()) {
                        proportion = Double.parseDouble(p);
                    }
                } catch (NumberFormatException e) {
                    throw new InputError("invalid proportion '" + parts[1] + "' in '" + text + "'");
                }
            }
            Path path = null;
            if (parts.length > 2) {
                if (parts[2].isEmpty()) throw new InputError("invalid data set path '' in '" + text + "'");
                String p = parts[2];
                if (p.equals("~") || p.startsWith("~/")) p = System.getProperty("user.home") + p.substring(1);
                path = Path.of(p);
            }
            return new Spec(name, proportion, exact, path);
        }

        /** Whether this spec selects nothing (proportion 0). */
        public boolean skipped() { return exactCount < 0 && proportion == 0.0; }

        /** How many records to select from a set of {@code n}. */
        public long count(long n) {
            return exactCount >= 0 ? exactCount : (long) Math.rint(n * proportion);
        }
    }

    /**
     * Where a named data set's files are.
     *
     * @param split the split (file stem) to keep, or null for all files of {@code path}
     */
    public record Source(String name, Path path, String split, String hint) {
        /** The data files, sorted; a missing one is a {@link DataError} telling where to put the download. */
        public List<Path> files() {
            try {
                return DataReader.dataFiles(path, split);
            } catch (DataError e) {
                throw new DataError(e.file(), 0, null, "data set '" + name + "': " + e.getMessage() + "; " + hint, e);
            }
        }

        /** Opens a reader over the files. */
        public DataReader open(ReadOptions options) {
            files();
            return DataReader.open(path, options.split(split));
        }

        /** All records (close the stream). */
        public Stream<DataRecord> read(ReadOptions options) { return open(options).stream(); }

        /** All records with the file and line each was read from (close the stream). */
        public Stream<Located<DataRecord>> readLocated(ReadOptions options) { return open(options).located(); }
    }

    /** Resolves a registered name (or alias) to its default location. */
    public static Source resolve(String name) { return resolve(name, null); }

    /**
     * Resolves a registered name (or alias). {@code override}, when not null, replaces the default snapshot folder; if it
     * is a file, that file is read as is.
     *
     * @throws InputError for an unknown name
     */
    public static Source resolve(String name, Path override) {
        String canonical = ALIASES.getOrDefault(name, name);
        Entry e = REGISTRY.get(canonical);
        if (e == null) {
            throw new InputError("unknown data set '" + name + "'; known: " + String.join(", ", REGISTRY.keySet()));
        }
        Path datasets = override == null ? KitPaths.projectRoot().resolve("datasets") : null;
        Path root = override != null ? override : datasets.resolve(e.root());
        String hint = e.hubRepo() == null
                ? "BeaverWorld is generated into " + root + " (or give NAME:PROPORTION:PATH)"
                : "download the hub snapshot with `huggingface-cli download " + e.hubRepo() + " --repo-type dataset --local-dir "
                        + root + "` (or give its folder as NAME:PROPORTION:PATH)";
        if (Files.isRegularFile(root)) return new Source(canonical, root, null, hint);
        Path path = e.sub() == null ? root : root.resolve(e.sub());
        if (!Files.exists(path)) {
            throw new DataError(path.toString(), 0, null, "data set '" + canonical + "' not found; " + hint);
        }
        return new Source(canonical, path, Files.isRegularFile(path) ? null : e.split(), hint);
    }

    /** Resolves a parsed spec (its PATH part, if any, overrides the default location). */
    public static Source resolve(Spec spec) { return resolve(spec.name(), spec.path()); }

    /**
     * The indices to take from a set of {@code n} records: the whole set in order while the wanted count is at least
     * {@code n}, then the remainder drawn without replacement (in draw order) from {@code random}.
     */
    public static int[] select(int n, long count, SplittableRandom random) {
        List<Integer> out = new ArrayList<>();
        long remaining = count;
        while (n > 0 && remaining >= n) {
            for (int i = 0; i < n; i++) out.add(i);
            remaining -= n;
        }
        if (remaining > 0) {
            if (n == 0) throw new InputError("cannot select " + count + " records from an empty data set");
            int[] pool = new int[n];
            for (int i = 0; i < n; i++) pool[i] = i;
            for (int i = 0; i < remaining; i++) { // partial Fisher-Yates
                int j = i + random.nextInt(n - i);
                int t = pool[i];
                pool[i] = pool[j];
                pool[j] = t;
                out.add(pool[i]);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Mixes in-memory data sets as the reference does: the sets with proportion 0 are dropped, the i-th kept set draws
     * with the i-th generator split from {@code new SplittableRandom(seed)}, and the selections are concatenated.
     *
     * @param sets  the records of each set, parallel to {@code specs}
     */
    public static <T> List<T> mix(List<Spec> specs, List<? extends List<? extends T>> sets, long seed) {
        if (specs.size() != sets.size()) throw new IllegalStateException("specs and sets differ in length");
        List<String> names = specs.stream().map(Spec::name).toList();
        if (names.stream().distinct().count() != names.size()) {
            throw new InputError("data set names must be unique, got " + names);
        }
        SplittableRandom parent = new SplittableRandom(seed);
        List<T> out = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            Spec spec = specs.get(i);
            if (spec.skipped()) continue;
            SplittableRandom random = parent.split();
            List<? extends T> set = sets.get(i);
            for (int index : select(set.size(), spec.count(set.size()), random)) out.add(set.get(index));
        }
        return out;
    }

    /**
     * Loads and mixes data sets given as {@code NAME[:PROPORTION[:PATH]]} strings (records are held in memory).
     */
    public static List<DataRecord> load(List<String> specs, long seed) {
        return loadLocated(specs, seed).stream().map(Located::record).toList();
    }

    /** As {@link #load}, each record with the file and line it was read from. */
    public static List<Located<DataRecord>> loadLocated(List<String> specs, long seed) {
        List<Spec> parsed = specs.stream().map(Spec::parse).toList();
        List<List<Located<DataRecord>>> sets = new ArrayList<>();
        for (Spec spec : parsed) {
            if (spec.skipped()) {
                sets.add(List.of());
                continue;
            }
            try (Stream<Located<DataRecord>> records = resolve(spec).readLocated(ReadOptions.defaults())) {
                sets.add(records.toList());
            }
        }
        return mix(parsed, sets, seed);
    }
}
