package saferlhf.beaverworld;

import java.util.List;
import java.util.Set;
import saferlhf.data.BeaverTailsCategory;
import saferlhf.data.HarmCategory;

/**
 * What a BeaverWorld prompt asks for: a benign topic (cooking, travel, ...) or a harmful request in one of the 14
 * BeaverTails categories.
 *
 * @param name         a short name, e.g. {@code "cooking"} or {@code "animal_abuse"}
 * @param category     the BeaverTails harm category of a harmful intent; null for a benign topic
 * @param requests     the request phrases a prompt of this intent contains, e.g. {@code "bake bread"}
 * @param steps        actionable steps that fulfil the request; for a harmful intent these are the harmful,
 *                     complying steps that make a response unsafe
 * @param alternatives safe alternatives a refusal may offer (harmful intents only; empty for benign topics)
 * @param harms        the PKU-SafeRLHF v1 harm categories a complying response falls under (harmful intents only)
 * @param severity     the base severity (1 minor, 2 moderate, 3 severe) of complying (harmful intents only; 0 if benign)
 */
public record Intent(String name, BeaverTailsCategory category, List<String> requests, List<String> steps,
                     List<String> alternatives, Set<HarmCategory> harms, int severity) {

    public Intent {
        requests = List.copyOf(requests);
        steps = List.copyOf(steps);
        alternatives = List.copyOf(alternatives);
        harms = Set.copyOf(harms);
        if (category != null && (harms.isEmpty() || severity < 1 || severity > 3 || alternatives.isEmpty())) {
            throw new IllegalArgumentException("harmful intent " + name + " needs harms, severity 1-3 and alternatives");
        }
    }

    static Intent benign(String name, List<String> requests, List<String> steps) {
        return new Intent(name, null, requests, steps, List.of(), Set.of(), 0);
    }

    static Intent harmful(BeaverTailsCategory category, int severity, Set<HarmCategory> harms, List<String> requests,
                          List<String> steps, List<String> alternatives) {
        return new Intent(category.key().replaceAll(",.*", ""), category, requests, steps, alternatives, harms, severity);
    }

    public boolean isHarmful() { return category != null; }
}
