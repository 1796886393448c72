package saferlhf.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import saferlhf.model.Device;
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

    @Option(names = "--reward-model", description = "a reward model: each answer's reward is shown")
    Path rewardModel;

    @Option(names = "--cost-model", description = "a cost model: each answer's cost is shown (cost > 0 means unsafe)")
    Path costModel;

    @Option(names = "--judge-config", description = EvalCommand.JUDGE_CONFIG_HELP)
    Path judgeConfig;

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

    @Option(names = "--max-length", description = "prompt and answer tokens together, cut to each model's context (default: ${DEFAULT-VALUE})")
    int maxLength = 512;

    @Option(names = "--max-new-tokens", description = "answer tokens at most (default: 128, at most half of each policy's context)")
    int maxNewTokens = 0;

    @Option(names = "--top-k", description = "sample among the k most likely tokens; 0: all (default: ${DEFAULT-VALUE})")
    int topK = Generation.Config.HF_DEFAULT_TOP_K;

    @Option(names = "--temperature", description = "sampling temperature (default: ${DEFAULT-VALUE})")
    double temperature = 1.0;

    @Option(names = "--seed", description = "seed of the first answer served; each later one takes the next (default: ${DEFAULT-VALUE})")
    long seed = 42;

    @Option(names = "--device", description = "cpu, gpu, gpu:N or auto (default: ${DEFAULT-VALUE})")
    String device = "auto";

    @Override
    public Integer call() throws Exception {
        if (maxPromptChars < 1 || maxConcurrent < 1) throw new InputError("--max-prompt-chars and --max-concurrent must be >= 1");
        if (port < 0 || port > 65535) throw new InputError("--port must be 0 to 65535, got " + port);
        if (maxNewTokens < 0 || topK < 0 || temperature <= 0) {
            throw new InputError("--max-new-tokens and --top-k must be >= 0 and --temperature > 0");
        }
        Map<String, Path> folders = new LinkedHashMap<>();
        for (var e : policies.entrySet()) {
            if (e.getKey().isBlank()) throw new InputError("--policy NAME=DIR: an empty NAME");
            folders.put(e.getKey(), EvalCommand.modelFolder(e.getValue()));
        }
        ArenaServer.Settings settings = new ArenaServer.Settings(host, port, maxPromptChars, maxConcurrent, maxLength, maxNewTokens,
                new Generation.Config(1, true, temperature, topK, 1.0, 1.0, seed), Data.prompts(prompts, seed));
        try (ArenaServer server = ArenaServer.start(folders, rewardModel == null ? null : EvalCommand.modelFolder(rewardModel),
                costModel == null ? null : EvalCommand.modelFolder(costModel), EvalCommand.judge(judgeConfig), settings, Device.parse(device))) {
            System.out.println("serving " + String.join(", ", folders.keySet()) + " at " + server.address() + " (Ctrl-C stops)");
            new CountDownLatch(1).await(); // until the JVM is stopped
        }
        return 0;
    }
}
