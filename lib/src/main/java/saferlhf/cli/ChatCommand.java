package saferlhf.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import saferlhf.eval.Assessment;
import saferlhf.eval.Chat;
import saferlhf.eval.Judge;
import saferlhf.model.Generation;
import saferlhf.model.Scorer;
import saferlhf.util.InputError;

/**
 * {@code saferlhf chat --model DIR}: a multi-turn chat with one policy, its answer streamed as it is sampled; {@code
 * saferlhf chat --red DIR --blue DIR}: the same questions to two policies, answers side by side. After each answer, what
 * can be said about it: the reward and cost models' scores when given, and the judge's verdict when it can rate the
 * question (BeaverWorld's judge: BeaverWorld's prompts).
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Talk to a policy (--model), or to two side by side (--red, --blue); commands: /regenerate, /reset, /clear, /exit.")
public final class ChatCommand implements Callable<Integer> {
    static final String HELP = "commands: /regenerate (sample the last answer again), /reset (a new dialogue), "
            + "/clear (clear the screen and start a new dialogue), /exit";

    @Spec CommandSpec spec;

    @Option(names = "--model", description = "the policy's folder (a model or LoRA adapter folder)")
    Path model;

    @Option(names = "--red", description = "the first policy of a side-by-side chat")
    Path red;

    @Option(names = "--blue", description = "the second policy of a side-by-side chat")
    Path blue;

    @Mixin AnswerScoring scoring;

    @Mixin AnswerSampling sampling;

    @Option(names = "--width", description = "columns of the side-by-side view (default: $COLUMNS, else ${DEFAULT-VALUE})")
    int width = envWidth();

    private static int envWidth() {
        try {
            return Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "100").trim());
        } catch (NumberFormatException e) {
            return 100;
        }
    }

    @Override
    public Integer call() throws Exception {
        if ((model == null) == (red == null && blue == null) || (red == null) != (blue == null)) {
            throw new InputError("give either --model DIR, or both --red DIR and --blue DIR");
        }
        if (width < 40) throw new InputError("--width must be >= 40, got " + width);
        sampling.config(1); // bad sampling options are refused before any model loads
        List<Path> folders = new ArrayList<>();
        for (Path folder : model != null ? List.of(model) : List.of(red, blue)) folders.add(EvalCommand.modelFolder(folder));
        ai.djl.Device target = sampling.device();
        PrintWriter out = spec.commandLine().getOut();
        List<String> names = model != null ? List.of("ASSISTANT") : List.of("RED: " + runName(red), "BLUE: " + runName(blue));
        List<Chat> chats = new ArrayList<>();
        Path rewardFolder = scoring.rewardFolder(), costFolder = scoring.costFolder();
        try (Scorer reward = rewardFolder == null ? null : Scorer.load(rewardFolder, target);
             Scorer cost = costFolder == null ? null : Scorer.load(costFolder, target)) {
            for (Path folder : folders) chats.add(Chat.load(folder, target, Generation.Config.greedy(1), sampling.maxLength));
            Generation.Config config = sampling.config(sampling.answerTokens(chats.stream().mapToInt(Chat::context).min().orElseThrow()));
            for (Chat chat : chats) chat.setSampling(config);
            Judge judge = scoring.judge();
            Session session = new Session(chats, names, reward, cost, judge, out);
            out.println(HELP);
            session.run(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
        } finally {
            for (Chat chat : chats) chat.close();
        }
        return 0;
    }

    /** A policy as given, without a closing {@code /model}: the run's folder. */
    private static String runName(Path given) {
        return given.getFileName() != null && given.getFileName().toString().equals("model") && given.getParent() != null
                ? given.getParent().toString() : given.toString();
    }

    /** The read-answer loop over one or two chats. */
    private final class Session {
        private final List<Chat> chats;
        private final List<String> names;
        private final Scorer reward, cost;
        private final Judge judge;
        private final PrintWriter out;

        Session(List<Chat> chats, List<String> names, Scorer reward, Scorer cost, Judge judge, PrintWriter out) {
            this.chats = chats;
            this.names = names;
            this.reward = reward;
            this.cost = cost;
            this.judge = judge;
            this.out = out;
        }

        void run(BufferedReader in) throws Exception {
            while (true) {
                out.print("USER: ");
                out.flush();
                String line = in.readLine();
                if (line == null) {
                    out.println();
                    return;
                }
                if (System.console() == null) out.println(line); // input from a file or pipe: show what was asked
                line = line.strip();
                if (line.isEmpty()) continue;
                switch (line) {
                    case "/exit" -> { return; }
                    case "/reset" -> {
                        chats.forEach(Chat::reset);
                        out.println("(a new dialogue)");
                    }
                    case "/clear" -> {
                        chats.forEach(Chat::reset);
                        out.print("\033[H\033[2J");
                        out.println("(a new dialogue)");
                    }
                    case "/regenerate" -> {
                        if (chats.get(0).turns().isEmpty()) out.println("(nothing to regenerate: ask a question first)");
                        else answer(null);
                    }
                    default -> {
                        if (line.startsWith("/")) out.println("(unknown command " + line + "; " + HELP + ")");
                        else answer(line);
                    }
                }
                out.flush();
            }
        }

        /** Answers {@code question} (or, for {@code null}, samples the last answers again) and says what can be said. */
        private void answer(String question) {
            List<String> answers = new ArrayList<>();
            for (int i = 0; i < chats.size(); i++) {
                Chat chat = chats.get(i);
                java.util.function.Consumer<String> stream = null;
                if (chats.size() == 1) {
                    out.print(names.get(0) + ": ");
                    stream = piece -> {
                        out.print(piece);
                        out.flush();
                    };
                }
                answers.add(question == null ? chat.regenerate(stream) : chat.ask(question, stream));
            }
            List<String> turns = chats.get(0).turns();
            String asked = turns.get(turns.size() - 2);
            List<String> assessments = new ArrayList<>();
            for (String answer : answers) {
                Assessment a = Assessment.of(asked, answer, reward, cost, judge, sampling.maxLength);
                assessments.add(reward != null || cost != null || a.rating() != null ? "[" + a.describe() + "]" : "");
            }
            if (chats.size() == 1) {
                out.println();
                if (!assessments.get(0).isEmpty()) out.println(assessments.get(0));
            } else {
                out.print(Columns.sideBySide(names, answers, assessments, width));
            }
        }
    }
}
