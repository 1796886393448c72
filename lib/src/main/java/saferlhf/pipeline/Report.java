package saferlhf.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;

/** {@code report.md} of a reproduction: the headline table, what each number means, the charts. */
final class Report {
    private Report() {}

    static String markdown(ObjectNode summary, String preset, long seed) {
        StringBuilder md = new StringBuilder();
        md.append("# Safe RLHF on BeaverWorld: reproduction report\n\n");
        md.append(String.format(Locale.ROOT, "Preset `%s`, seed %d. Every number below was measured by this run; `summary.json` holds them all.%n%n", preset, seed));
        md.append("## Policies\n\n");
        md.append("| policy | unsafe on harmful prompts | helpfulness on benign prompts | over-refusal on benign | mean reward | mean cost | Elo |\n");
        md.append("|---|---|---|---|---|---|---|\n");
        summary.get("policies").fields().forEachRemaining(e -> {
            JsonNode p = e.getValue();
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.2f | %.2f | %s |%n", e.getKey(),
                    percent(p, "unsafe_rate_harmful"), Reproduction.cell(p, "helpfulness_benign", "%.2f", 1),
                    percent(p, "over_refusal_benign"), p.get("mean_reward").asDouble(), p.get("mean_cost").asDouble(),
                    Reproduction.cell(p, "elo", "%.0f", 1)));
        });
        String reading = Reproduction.reading(summary.get("policies"));
        if (!reading.isEmpty()) md.append("\nIn words: ").append(reading.replace("\n", " ")).append('\n');
        md.append("""

            The policies: **SFT** (the starting point); **PPO** (RLHF: the reward alone); **PPO-Lag round k** (Safe RLHF:
            reward subject to expected cost <= the threshold, lambda learned; each later round continues from the round
            before, with reward and cost models updated on freshly labelled samples of that policy: see "Rounds"); **Shaping lambda=x** (PPO on reward - x * cost with x fixed);
            **DPO** (direct preference optimisation on the helpfulness preferences, no reward model)%s.

            What the columns mean:
            - **unsafe on harmful prompts**: the share of answers to the held-out harmful evaluation prompts that BeaverWorld's
              ground-truth judge finds unsafe (a harmful step or an insult). Lower is safer.
            - **helpfulness on benign prompts**: the judge's mean helpfulness of the answers to benign prompts (+1 per relevant
              step, up to 4; penalties for insults and noise). Higher is more helpful.
            - **over-refusal**: the share of benign prompts answered with a refusal.
            - **mean reward / mean cost**: the trained reward and cost models' scores of the same answers (cost > 0 means unsafe).
            - **Elo**: ratings from every pair of policies on every prompt, judged with the GPT-4 evaluation's priority (a safe
              answer beats an unsafe one, then the more helpful wins), averaged over 20 orders.

            ![helpfulness vs harmlessness](helpfulness_vs_harmlessness.png)

            The distributions of the reward and cost models' scores of the same answers (SFT, PPO and each PPO-Lagrangian
            round), like the reference's arena plots: Safe RLHF should move the cost distribution from mostly positive
            (unsafe) to negative (safe) without moving the reward distribution much to the left.

            ![reward distribution](reward_distribution.png)
            ![cost distribution](cost_distribution.png)

            """.formatted(methodsNote(summary.get("policies"))));
        md.append("## Score models (held-out preference pairs)\n\n");
        JsonNode rm = summary.get("reward_model"), cm = summary.get("cost_model");
        md.append(String.format(Locale.ROOT, "- reward model: accuracy vs labels %.3f, vs the judge's helpfulness order %s%n",
                rm.path("accuracy").asDouble(), Reproduction.cell(rm, "judge_accuracy", "%.3f", 1)));
        md.append(String.format(Locale.ROOT, "- cost model: sign accuracy vs labels %.3f, vs the judge %s; pairwise safety accuracy vs the judge %s%n%n",
                cm.path("accuracy_sign").asDouble(), Reproduction.cell(cm, "judge_sign_accuracy", "%.3f", 1),
                Reproduction.cell(cm, "judge_safety_accuracy", "%.3f", 1)));
        md.append("## Rounds\n\n");
        md.append("| round | fresh pairs | unsafe on harmful | helpfulness on benign | over-refusal | reward model vs judge | "
                + "cost model sign vs judge | threshold | final lambda | episode cost <= threshold from rl step | then peak overshoot | "
                + "crossings |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (JsonNode r : summary.path("rounds")) {
            md.append(String.format(Locale.ROOT, "| %d | %d | %s | %s | %s | %s | %s | %.2f | %.3f | %s | %s | %s |%n", r.path("round").asInt(),
                    r.path("fresh_pairs").asInt(), percent(r, "unsafe_rate_harmful"), Reproduction.cell(r, "helpfulness_benign", "%.2f", 1),
                    percent(r, "over_refusal_benign"), Reproduction.cell(r.path("reward_model"), "judge_accuracy", "%.3f", 1),
                    Reproduction.cell(r.path("cost_model"), "judge_sign_accuracy", "%.3f", 1), r.path("threshold").asDouble(),
                    r.path("final_lambda").asDouble(),
                    r.has("first_met_step") ? r.get("first_met_step").asText() : "never", Reproduction.cell(r, "peak_overshoot", "%.3f", 1),
                    Reproduction.cell(r, "threshold_crossings", "%.0f", 1)));
        }
        md.append("""

            Round 1 trains from the SFT policy with the first reward and cost models. Each later round samples two answers per
            fresh prompt from the previous round's policy, has BeaverWorld's annotators label them (noisy helpfulness and
            safety labels), continues the reward and cost models for one epoch on the fresh pairs of every round so far plus
            as many replayed from their original training data, and runs PPO-Lagrangian again from the previous policy. The
            accuracies are those of the models the round trained with, on the held-out pairs. The threshold is the config's d,
            or, with `rounds.later_threshold=previous`, min(d, the previous policy's mean cost under the round's cost
            model) from round 2 on. The last three columns follow
            the episode cost (the mean cost of the last 128 rollouts) against the threshold: the first rl step at which it
            was at most the threshold, how far it rose above it afterwards, and how often it crossed it (n/a: never met).

            ![rounds](rounds.png)

            """);
        JsonNode run = summary.path("run");
        md.append("## Timeline\n\n");
        md.append(String.format(Locale.ROOT, "This invocation: %.1f s wall, %.1f s CPU (%.2f cores busy on average of %d), peak resident "
                        + "memory %.0f MiB (this JVM and its running stages together); %d stage%s at once, %d intra-op thread%s each.%n%n",
                run.path("wall_seconds").asDouble(), run.path("cpu_seconds").asDouble(),
                run.path("cpu_seconds").asDouble() / Math.max(1e-9, run.path("wall_seconds").asDouble()), run.path("cores").asInt(),
                run.path("peak_rss_mib").asDouble(), run.path("jobs").asInt(), run.path("jobs").asInt() == 1 ? "" : "s",
                run.path("threads_per_stage").asInt(), run.path("threads_per_stage").asInt() == 1 ? "" : "s"));
        md.append("![timeline](timeline.png)\n\n");
        java.util.List<String> skipped = new java.util.ArrayList<>();
        boolean allSkipped = true;
        for (JsonNode t : summary.path("timeline")) allSkipped &= t.path("skipped").asBoolean();
        if (allSkipped) md.append("Every stage was complete already; the rows are those of the run that made them.\n\n");
        md.append("| stage | start (s) | end (s) | wall (s) | CPU (s) | threads | peak memory (MiB) |\n|---|---|---|---|---|---|---|\n");
        for (JsonNode t : summary.path("timeline")) {
            if (t.path("skipped").asBoolean()) {
                skipped.add(t.path("stage").asText());
                if (!allSkipped) continue;
            }
            md.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %s | %d | %s |%n", t.path("stage").asText(),
                    t.path("start_seconds").asDouble(), t.path("end_seconds").asDouble(), t.path("wall_seconds").asDouble(),
                    t.has("cpu_seconds") ? String.format(Locale.ROOT, "%.1f", t.get("cpu_seconds").asDouble()) : "n/a",
                    t.path("threads").asInt(), t.has("peak_rss_mib") ? String.format(Locale.ROOT, "%.0f", t.get("peak_rss_mib").asDouble()) : "n/a"));
        }
        if (!skipped.isEmpty()) {
            md.append("\nSkipped by this invocation because already complete: ").append(String.join(", ", skipped))
                    .append(" (their times in `summary.json` are those of the run that made them, when it recorded them).\n");
        }
        md.append("\nPeak memory n/a: the stage ran in the reproduction's own JVM (every stage with `--jobs 1`; sampling and "
                + "evaluations otherwise) and shares its peak with it.\n");
        return md.toString();
    }

    /** A rate as a percentage, or n/a where the judge could not compute it. */
    private static String percent(JsonNode policy, String field) {
        String cell = Reproduction.cell(policy, field, "%.1f", 100);
        return cell.equals("n/a") ? cell : cell + "%";
    }

    /** The methods since Safe RLHF that a reproduction added (its {@code methods}), named for the policies' legend. */
    private static String methodsNote(JsonNode policies) {
        List<String> notes = new java.util.ArrayList<>();
        if (policies.has("SafeDPO")) notes.add("**SafeDPO** (DPO on the pairs reordered by safety, with a safety margin)");
        if (policies.has("BFPO")) notes.add("**BFPO** (a squared loss whose target ranks safe-and-helpful over safe over unsafe)");
        if (policies.has("SACPO")) notes.add("**SACPO** (DPO on the safety preference from the DPO policy)");
        if (policies.has("RePO")) notes.add("**RePO** (PPO-Lagrangian on each answer's rectified cost max(0, c - d))");
        if (policies.has("PeCAN")) notes.add("**PeCAN** (MoCAN with the DPO policies on helpfulness and on safety as implicit "
                + "reward and cost)");
        if (policies.has("C-DPO")) notes.add("**C-DPO** (DPO on the pairs ordered by r - lambda c, lambda stepped on the "
                + "policy's cost between runs)");
        if (policies.has("MoCAN")) notes.add("**MoCAN** (the dual solved on SFT's answers, then DPO on the pairs relabelled by "
                + "r - lambda* c)");
        if (policies.has("GRPO-Lag")) notes.add("**GRPO-Lag** (PPO-Lagrangian with advantages standardised within groups of "
                + "answers to one prompt, no critics)");
        policies.fieldNames().forEachRemaining(name -> {
            if (name.startsWith("P-SACPO")) notes.add("**" + name + "** (DPO and SACPO merged by weight, q the SACPO share)");
        });
        return notes.isEmpty() ? "" : "; and the methods since Safe RLHF (docs/methods.md): " + String.join("; ", notes);
    }
}
