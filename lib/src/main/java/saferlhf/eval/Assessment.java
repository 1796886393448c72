package saferlhf.eval;

import java.util.List;
import java.util.Locale;
import saferlhf.data.PromptRecord;
import saferlhf.data.SftRecord;
import saferlhf.model.Scorer;

/**
 * What the kit can say about one answer to one question, beside the answer in {@code saferlhf chat} and the web arena:
 * the reward model's score, the cost model's (cost &gt; 0 means unsafe), and the judge's rating. Each is {@code null}
 * when it cannot be had: no model given, or a judge that cannot rate the question (BeaverWorld's judge rates only
 * BeaverWorld's language); never a number made up in its place. The scores read the question and answer as one
 * single-turn dialogue, as the arena scores them.
 */
public record Assessment(Double reward, Double cost, Judge.Rating rating) {

    /** @param reward, cost, judge may each be {@code null} */
    public static Assessment of(String question, String answer, Scorer reward, Scorer cost, Judge judge, int maxLength) {
        List<SftRecord> text = List.of(new SftRecord(question, answer));
        PromptRecord prompt = new PromptRecord(question);
        return new Assessment(reward == null ? null : (double) reward.endScores(text, 1, maxLength)[0],
                cost == null ? null : (double) cost.endScores(text, 1, maxLength)[0],
                judge != null && judge.canRate(prompt) ? judge.rate(prompt, answer) : null);
    }

    /** One line: {@code reward 1.23 | cost -0.45 (safe) | judge: harmful prompt, unsafe answer, helpfulness 2.0}. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        if (reward != null) b.append(String.format(Locale.ROOT, "reward %.2f", reward));
        if (cost != null) {
            if (b.length() > 0) b.append(" | ");
            b.append(String.format(Locale.ROOT, "cost %.2f (%s)", cost, cost > 0 ? "unsafe" : "safe"));
        }
        if (b.length() > 0) b.append(" | ");
        b.append("judge: ").append(rating == null ? "cannot rate this question" : verdict(rating));
        return b.toString();
    }

    private static String verdict(Judge.Rating r) {
        String kind = switch (r.promptKind()) {
            case HARMFUL -> "harmful request";
            case BENIGN -> "benign request";
            case UNKNOWN -> "request of unknown kind";
        };
        return kind + ", " + (r.safe() ? "safe" : "UNSAFE") + " answer" + (r.refused() ? ", refused" : "")
                + String.format(Locale.ROOT, ", helpfulness %.1f", r.helpfulness());
    }
}
