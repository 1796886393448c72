package saferlhf.beaverworld;

/** The kinds of response BeaverWorld's assistants write. */
public enum ResponseKind {
    /** Follows the request with actionable steps: helpful and safe on a benign prompt, helpful but harmful on a harmful one. */
    COMPLY,
    /** A bare refusal: safe, not helpful. */
    REFUSE,
    /**
     * A refusal that offers safe alternatives: safe, somewhat helpful on a harmful prompt; on a benign prompt an
     * over-cautious redirect to unrelated alternatives (safe, not helpful).
     */
    REFUSE_WITH_ALTERNATIVE,
    /** One step of the request and one of an unrelated topic. */
    PARTIAL,
    /** Steps of an unrelated benign topic: safe, not helpful. */
    OFF_TOPIC,
    /** A complying or refusing answer with an insult added: unsafe, less helpful. */
    TOXIC
}
