package saferlhf.train;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.Offline;
import saferlhf.data.SftRecord;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;
import saferlhf.model.TokenizerFiles;

/**
 * A tiny model trained with each family of real tokenizer.json (byte-level BPE with GPT-2's special tokens,
 * SentencePiece-style BPE with LLaMA's), given by the {@code tokenizer} key: SFT learns, the saved folders keep the
 * tokenizer (special tokens added at load included), and a reward model trained from the SFT folder scores with it.
 */
class TokenizerFamiliesTrainingTest {
    @Test
    void sftAndARewardModelTrainWithByteLevelAndSentencePieceTokenizers(@TempDir Path dir) throws Exception {
        Offline.apply();
        List<String> words = TokenizerFiles.beaverWorldWords();
        Map<String, Path> families = new LinkedHashMap<>();
        families.put("byte-level", TokenizerFiles.write(dir.resolve("byte-level-tokenizer"), TokenizerFiles.byteLevelBpe(words),
                TokenizerFiles.GPT2_CONFIG));
        families.put("sentencepiece", TokenizerFiles.write(dir.resolve("sentencepiece-tokenizer"), TokenizerFiles.sentencePieceBpe(words),
                null));
        for (Map.Entry<String, Path> family : families.entrySet()) {
            Path run = dir.resolve(family.getKey());
            SftConfig sft = Configs.override(SftConfig.quick(), List.of("tokenizer=" + family.getValue(),
                    "train_datasets=BeaverWorld-SFT/train:32/-1", "eval_datasets=", "eval_strategy=no", "max_length=128", "epochs=1",
                    "per_device_train_batch_size=8", "output_dir=" + run.resolve("sft")));
            List<SftRecord> answers = new ArrayList<>();
            try (SftTrainer trainer = new SftTrainer(sft); Tokenizer source = Tokenizer.load(family.getValue())) {
                Tokenizer tokenizer = trainer.tokenizer();
                assertTrue(tokenizer.sameAs(source));
                assertEquals(tokenizer.vocabSize(), trainer.model().config().vocabSize(), "the preset is sized to the tokenizer");
                List<Tokenizer.Sft> examples = new ArrayList<>();
                for (var record : saferlhf.train.Data.sft("BeaverWorld-SFT/train:32/-1", sft.seed())) {
                    examples.add(tokenizer.encodeDialogue(record, 128));
                    List<String> turns = record.turns();
                    answers.add(new SftRecord(turns.get(0), turns.get(1)));
                }
                for (Tokenizer.Sft e : examples) assertEquals(tokenizer.eosId(), e.ids()[e.ids().length - 1], "whole examples, EOS last");
                float before = nll(trainer, examples);
                TrainingLoop.Result result = TrainingLoop.run(sft, trainer);
                assertEquals(4, result.totalSteps());
                float after = nll(trainer, examples);
                System.out.printf("%s: %d ids, response NLL %.3f -> %.3f%n", family.getKey(), tokenizer.vocabSize(), before, after);
                assertTrue(after < before - 0.5f, family.getKey() + ": response NLL " + before + " -> " + after);
            }
            ScoreModelConfig rm = Configs.override(ScoreModelConfig.quick("reward"), List.of(
                    "model_name_or_path=" + run.resolve("sft/model"), "train_datasets=BeaverWorld/train:16/-1",
                    "eval_datasets=BeaverWorld/test:8/-1", "max_length=128", "per_device_train_batch_size=8",
                    "output_dir=" + run.resolve("rm")));
            TrainingLoop.Result result = ScoreTrainer.train(rm);
            assertTrue(Double.isFinite(result.lastEval().get("eval/accuracy")), result.lastEval().toString());
            try (Scorer reward = Scorer.load(result.modelFolder(), Device.cpu()); Tokenizer source = Tokenizer.load(family.getValue());
                 Tokenizer sftTokenizer = Tokenizer.load(run.resolve("sft/model"))) {
                assertTrue(reward.tokenizer().sameAs(source) && sftTokenizer.sameAs(source), "saved and reloaded: the same tokenizer");
                float[] scores = reward.endScores(answers.subList(0, 8), 4, 128);
                for (float s : scores) assertTrue(Float.isFinite(s));
                assertNotEquals(scores[0], scores[1], "different answers, different scores");
            }
        }
    }

    private static float nll(SftTrainer trainer, List<Tokenizer.Sft> examples) {
        try (NDManager step = trainer.model().manager().newSubManager()) {
            return SftTrainer.responseNll(trainer.model(), trainer.tokenizer(), examples, 128, step).getFloat();
        }
    }
}
