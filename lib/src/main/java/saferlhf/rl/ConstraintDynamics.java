package saferlhf.rl;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How a PPO-Lagrangian run's episode cost ({@code train/episode_cost}, the mean cost of the last
 * {@code episode_cost_window_size} episodes) behaved around the threshold: how fast the constraint was met, how far
 * the cost overshot it afterwards, and how often it crossed it (Stooke et al. 2020 compare Lagrangian updates by
 * these). The cost is read at every rl step that logged it.
 *
 * @param steps            rl steps with an episode cost
 * @param firstMetStep     the first rl step whose episode cost was at most the threshold; -1 if never
 * @param peakOvershoot    after {@code firstMetStep}: the largest {@code episode_cost - threshold}, 0 if it never rose
 *                         above again; NaN if the constraint was never met
 * @param crossings        after {@code firstMetStep}: how often the episode cost crossed the threshold (either way)
 * @param meanExcursion    after {@code firstMetStep}: the mean of {@code |episode_cost - threshold|} (how far it
 *                         oscillated around the threshold); NaN if never met
 * @param finalEpisodeCost the last episode cost
 */
public record ConstraintDynamics(int steps, long firstMetStep, double peakOvershoot, int crossings, double meanExcursion,
                                 double finalEpisodeCost) {

    /** The dynamics of a run's metrics rows ({@code metrics.jsonl}) against {@code threshold}. */
    public static ConstraintDynamics of(List<Map<String, Double>> rows, double threshold) {
        List<double[]> costs = new ArrayList<>(); // (step, episode cost)
        for (Map<String, Double> row : rows) {
            if (row.containsKey("train/episode_cost")) costs.add(new double[] {row.getOrDefault("step", (double) costs.size() + 1), row.get("train/episode_cost")});
        }
        if (costs.isEmpty()) throw new IllegalArgumentException("no train/episode_cost in the metrics: not a PPO-Lagrangian run");
        int first = -1;
        for (int i = 0; i < costs.size() && first < 0; i++) if (costs.get(i)[1] <= threshold) first = i;
        double finalCost = costs.get(costs.size() - 1)[1];
        if (first < 0) return new ConstraintDynamics(costs.size(), -1, Double.NaN, 0, Double.NaN, finalCost);
        double peak = 0, excursion = 0;
        int crossings = 0;
        for (int i = first; i < costs.size(); i++) {
            double error = costs.get(i)[1] - threshold;                 // > 0: the constraint is violated
            peak = Math.max(peak, error);
            excursion += Math.abs(error);
            if (i > first && (error > 0) != (costs.get(i - 1)[1] - threshold > 0)) crossings++;
        }
        return new ConstraintDynamics(costs.size(), (long) costs.get(first)[0], peak, crossings, excursion / (costs.size() - first), finalCost);
    }

    /** Whether the episode cost reached the threshold at all. */
    public boolean met() { return firstMetStep >= 0; }
}
