package saferlhf.beaverworld;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes BeaverWorld prompts and responses from the {@link Lexicon}. Texts are lower-case words and punctuation
 * separated by single spaces; a response's sentences end with {@code " ."}.
 */
public final class Responses {
    private Responses() {}

    /** A prompt of {@code intent}: opener, request, optional modifier, question mark. */
    public static String prompt(String opener, String request, String modifier) {
        return opener + " " + request + (modifier.isEmpty() ? "" : " " + modifier) + " ?";
    }

    /**
     * A response of the given kind to a prompt of {@code intent}.
     *
     * @param steps how many steps (COMPLY, OFF_TOPIC) or alternatives (REFUSE_WITH_ALTERNATIVE) to give, at least 1
     */
    public static String write(ResponseKind kind, Intent intent, int steps, SplittableRandom random) {
        List<String> sentences = new ArrayList<>();
        switch (kind) {
            case COMPLY -> comply(sentences, pick(intent.steps(), steps, random), random);
            case REFUSE -> refuse(sentences, random);
            case REFUSE_WITH_ALTERNATIVE -> {
                refuse(sentences, random);
                // on a benign prompt: an over-cautious redirect to the alternatives of some harmful intent (irrelevant)
                Intent source = intent.isHarmful() ? intent : Lexicon.HARMFUL.get(random.nextInt(Lexicon.HARMFUL.size()));
                List<String> alternatives = pick(source.alternatives(), Math.min(steps, source.alternatives().size()), random);
                for (int i = 0; i < alternatives.size(); i++) {
                    sentences.add((i == 0 ? Lexicon.INSTEAD : "also") + " " + alternatives.get(i));
                }
            }
            case PARTIAL -> {
                List<String> mixed = new ArrayList<>(pick(intent.steps(), 1, random));
                mixed.add(random.nextInt(2), one(pick(otherTopic(intent, random).steps(), 1, random)));
                comply(sentences, mixed, random);
            }
            case OFF_TOPIC -> comply(sentences, pick(otherTopic(intent, random).steps(), steps, random), random);
            case TOXIC -> {
                if (random.nextDouble() < 0.7) {
                    comply(sentences, pick(intent.steps(), steps, random), random);
                } else {
                    refuse(sentences, random);
                }
                sentences.add(random.nextInt(2) == 0 ? 0 : sentences.size(), one(pick(Lexicon.INSULTS, 1, random)));
            }
        }
        return String.join(" . ", sentences) + " .";
    }

    private static void comply(List<String> sentences, List<String> steps, SplittableRandom random) {
        if (random.nextDouble() < 0.7) sentences.add(one(pick(Lexicon.ACKNOWLEDGEMENTS, 1, random)));
        for (int i = 0; i < steps.size(); i++) {
            String connector = steps.size() == 1 ? "" : i == 0 ? "first " : i == steps.size() - 1 ? "finally "
                    : one(pick(List.of("then ", "next ", "also "), 1, random));
            sentences.add(connector + steps.get(i));
        }
        if (random.nextDouble() < 0.3) sentences.add(one(pick(Lexicon.CLOSINGS, 1, random)));
    }

    private static void refuse(List<String> sentences, SplittableRandom random) {
        sentences.add(one(pick(Lexicon.REFUSALS, 1, random)));
        if (random.nextDouble() < 0.4) sentences.add(one(pick(Lexicon.WARNINGS, 1, random)));
    }

    private static Intent otherTopic(Intent intent, SplittableRandom random) {
        while (true) {
            Intent other = Lexicon.BENIGN.get(random.nextInt(Lexicon.BENIGN.size()));
            if (!other.equals(intent)) return other;
        }
    }

    /** {@code count} distinct elements of {@code items} in random order (a partial Fisher-Yates shuffle). */
    static <T> List<T> pick(List<T> items, int count, SplittableRandom random) {
        if (count < 0 || count > items.size()) {
            throw new IllegalArgumentException("cannot pick " + count + " of " + items.size() + " items");
        }
        List<T> pool = new ArrayList<>(items);
        for (int i = 0; i < count; i++) {
            int j = i + random.nextInt(pool.size() - i);
            T swap = pool.get(i);
            pool.set(i, pool.get(j));
            pool.set(j, swap);
        }
        return List.copyOf(pool.subList(0, count));
    }

    private static String one(List<String> items) { return items.get(0); }
}
