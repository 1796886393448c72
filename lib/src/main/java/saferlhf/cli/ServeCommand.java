package saferlhf.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import saferlhf.model.Generation;
import saferlhf.serve.ArenaServer;
import saferlhf.train.Data;
import saferlhf.util.InputError;

/** {@code saferlhf serve --policy NAME=DIR ...}: the side-by-side arena as a web page ({@link ArenaServer}). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve the arena as a web page: pick two policies, type or pick a prompt, watch both answers stream in with scores and the judge's verdict.")
public final class ServeCommand implements Callable<Integer> {
    @Option(names = "--policy", required = true, paramLabel = "NAME=DIR",
            description = "a policy to serve under NAME (repeat; requests name policies, never folders)")
    Map<String, Path> policies = new LinkedHashMap<>();

    @Mixin AnswerScoring scoring;

    @Option(names = "--host", description = "the address to bind (default: ${DEFAULT-VALUE}, this machine only)")
    String host = "127.0.0.1";

    @Option(names = "--port", description = "0 for any free port (default: ${DEFAULT-VALUE})")
    int port = 8080;

    @Option(names = "--prompts", description = "prompts offered for picking (default: ${DEFAULT-VALUE})")
    String prompts = "BeaverWorld-Eval/benign:20/-1,BeaverWorld-Eval/harmful:20/-1";

    @Option(names = "--max-prompt-chars", description = "longer prompts are refused (default: ${DEFAULT-VALUE})")
    int maxPromptChars = 2000;

    @Option(names = "--max-concurrent", description = "generations at once, over all policies (default: ${DEFAULT-VALUE})")
    int maxConcurrent = 2;

    @Mixin AnswerSampling sampling;

    @Override
    public Integer call() throws Exception {
        if (maxPromptChars < 1 || maxConcurrent < 1) throw new InputError("--max-prompt-chars and --max-concurrent must be >= 1");
        if (port < 0 || port > 65535) throw new InputError("--port must be 0 to 65535, got " + port);
        Generation.Config config = sampling.config(1); // refused before any model loads; each policy gets its answer budget
        Map<String, Path> folders = new LinkedHashMap<>();
        for (var e : policies.entrySet()) {
            if (e.getKey().isBlank()) throw new InputError("--policy NAME=DIR: an empty NAME");
            folders.put(e.getKey(), EvalCommand.modelFolder(e.getValue()));
        }
        ArenaServer.Settings settings = new ArenaServer.Settings(host, port, maxPromptChars, maxConcurrent, sampling.maxLength,
                sampling.maxNewTokens == null ? 0 : sampling.maxNewTokens, config, Data.prompts(prompts, sampling.seed));
        try (ArenaServer server = ArenaServer.start(folders, scoring.rewardFolder(), scoring.costFolder(), scoring.judge(), settings,
                sampling.device())) {
            System.out.println("serving " + String.join(", ", folders.keySet()) + " at " + server.address() + " (Ctrl-C stops)");
            new CountDownLatch(1).await(); // until the JVM is stopped
        }
        return 0;
    }
}
