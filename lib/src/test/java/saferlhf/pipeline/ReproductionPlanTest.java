package saferlhf.pipeline;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.train.ShippedModels;
import saferlhf.train.SftConfig;

class ReproductionPlanTest {
    @Test
    void theQuickPresetStartsFromTheShippedModelsUnlessTheyAreChanged(@TempDir Path dir) {
        Reproduction quick = new Reproduction("quick", dir.resolve("q").toString(), 7);
        assertTrue(quick.startsFromShippedModels());
        Reproduction.Plan plan = quick.plan();
        assertEquals(ShippedModels.sft().epochs(), plan.sft().epochs());
        assertEquals(42, plan.sft().seed(), "the shipped models keep the seed they were trained with");
        assertEquals(dir.resolve("q/sft").toString(), plan.sft().outputDir(), "copied into the reproduction's own folder");
        assertEquals(7, plan.rounds().get(1).reward().seed(), "the rounds continue the score models with the run's seed");

        Reproduction changed = new Reproduction("quick", dir.resolve("c").toString(), 7, List.of("sft.epochs=2"));
        assertFalse(changed.startsFromShippedModels());
        assertEquals(2, changed.plan().sft().epochs());
        assertEquals(SftConfig.quick().trainDatasets(), changed.plan().sft().trainDatasets(), "then the quick training presets");
        assertFalse(new Reproduction("full", dir.resolve("f").toString(), 7).startsFromShippedModels());
    }

    @Test
    void aStageIsRunWithExactlyTheStagesItReads(@TempDir Path dir) {
        StageGraph graph = new Reproduction("quick", dir.toString(), 7).plan().graph();
        List<String> names = graph.upTo(List.of("ppo_lag_round_2")).stages().stream().map(StageGraph.Stage::name).toList();
        assertEquals(List.of("sft", "reward_model", "cost_model", "ppo_lag_round_1", "round_2_preference", "round_2_reward_model",
                "round_2_cost_model", "ppo_lag_round_2"), names);
        assertEquals(List.of("sft", "eval_sft", "reward_model", "cost_model").stream().sorted().toList(),
                graph.upTo(List.of("eval_sft")).stages().stream().map(StageGraph.Stage::name).sorted().toList(),
                "an evaluation reads the score models too");
    }
}
