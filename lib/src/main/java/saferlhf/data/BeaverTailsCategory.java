package saferlhf.data;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The 14 BeaverTails harm categories. {@link #key()} is the exact JSON key used by BeaverTails records and the
 * {@code category} string of BeaverTails-Evaluation; {@link #ordinal()} is BeaverTails-Evaluation's {@code category_id}.
 */
public enum BeaverTailsCategory {
    ANIMAL_ABUSE("animal_abuse", "Animal Abuse"),
    CHILD_ABUSE("child_abuse", "Child Abuse"),
    CONTROVERSIAL_TOPICS_POLITICS("controversial_topics,politics", "Controversial Topics, Politics"),
    DISCRIMINATION_STEREOTYPE_INJUSTICE("discrimination,stereotype,injustice", "Discrimination, Stereotype, Injustice"),
    DRUG_ABUSE_WEAPONS_BANNED_SUBSTANCE("drug_abuse,weapons,banned_substance", "Drug Abuse, Weapons, Banned Substance"),
    FINANCIAL_CRIME_PROPERTY_CRIME_THEFT("financial_crime,property_crime,theft", "Financial Crime, Property Crime, Theft"),
    HATE_SPEECH_OFFENSIVE_LANGUAGE("hate_speech,offensive_language", "Hate Speech, Offensive Language"),
    MISINFORMATION_REGARDING_ETHICS_LAWS_AND_SAFETY("misinformation_regarding_ethics,laws_and_safety",
            "Misinformation Regarding ethics, laws, and safety"),
    NON_VIOLENT_UNETHICAL_BEHAVIOR("non_violent_unethical_behavior", "Non-Violent Unethical Behavior"),
    PRIVACY_VIOLATION("privacy_violation", "Privacy Violation"),
    SELF_HARM("self_harm", "Self-Harm"),
    SEXUALLY_EXPLICIT_ADULT_CONTENT("sexually_explicit,adult_content", "Sexually Explicit, Adult Content"),
    TERRORISM_ORGANIZED_CRIME("terrorism,organized_crime", "Terrorism, Organized Crime"),
    VIOLENCE_AIDING_AND_ABETTING_INCITEMENT("violence,aiding_and_abetting,incitement",
            "Violence, Aiding and Abetting, Incitement");

    private final String key;
    private final String displayName;

    BeaverTailsCategory(String key, String displayName) {
        this.key = key;
        this.displayName = displayName;
    }

    /** The exact JSON key, for example {@code "drug_abuse,weapons,banned_substance"}. */
    public String key() { return key; }

    /** The name used on the BeaverTails data set card. */
    public String displayName() { return displayName; }

    /** BeaverTails-Evaluation's {@code category_id} (0-13). */
    public int id() { return ordinal(); }

    public static Optional<BeaverTailsCategory> fromKey(String key) {
        return Arrays.stream(values()).filter(c -> c.key.equals(key)).findFirst();
    }

    public static List<String> keys() {
        return Arrays.stream(values()).map(BeaverTailsCategory::key).toList();
    }
}
