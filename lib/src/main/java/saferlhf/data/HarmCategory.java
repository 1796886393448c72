package saferlhf.data;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The 19 harm categories of PKU-SafeRLHF v1 (S1-S19), in the fixed key order of the
 * {@code response_i_harm_category} objects on disk. {@link #key()} is the exact JSON key.
 */
public enum HarmCategory {
    ENDANGERING_NATIONAL_SECURITY("Endangering National Security"),
    INSULTING_BEHAVIOR("Insulting Behavior"),
    DISCRIMINATORY_BEHAVIOR("Discriminatory Behavior"),
    ENDANGERING_PUBLIC_HEALTH("Endangering Public Health"),
    COPYRIGHT_ISSUES("Copyright Issues"),
    VIOLENCE("Violence"),
    DRUGS("Drugs"),
    PRIVACY_VIOLATION("Privacy Violation"),
    ECONOMIC_CRIME("Economic Crime"),
    MENTAL_MANIPULATION("Mental Manipulation"),
    HUMAN_TRAFFICKING("Human Trafficking"),
    PHYSICAL_HARM("Physical Harm"),
    SEXUAL_CONTENT("Sexual Content"),
    CYBERCRIME("Cybercrime"),
    DISRUPTING_PUBLIC_ORDER("Disrupting Public Order"),
    ENVIRONMENTAL_DAMAGE("Environmental Damage"),
    PSYCHOLOGICAL_HARM("Psychological Harm"),
    WHITE_COLLAR_CRIME("White-Collar Crime"),
    ANIMAL_ABUSE("Animal Abuse");

    private final String key;

    HarmCategory(String key) { this.key = key; }

    /** The exact JSON key, for example {@code "White-Collar Crime"}. */
    public String key() { return key; }

    /** The label used by the data set card: S1 ... S19. */
    public String code() { return "S" + (ordinal() + 1); }

    public static Optional<HarmCategory> fromKey(String key) {
        return Arrays.stream(values()).filter(c -> c.key.equals(key)).findFirst();
    }

    public static List<String> keys() {
        return Arrays.stream(values()).map(HarmCategory::key).toList();
    }
}
