package saferlhf.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import saferlhf.data.PromptRecord;
import saferlhf.data.PromptTemplate;
import saferlhf.eval.Assessment;
import saferlhf.eval.Chat;
import saferlhf.eval.Judge;
import saferlhf.explore.Charts;
import saferlhf.explore.Runs;
import saferlhf.model.CausalLM;
import saferlhf.model.Generation;
import saferlhf.model.ModelFiles;
import saferlhf.model.Scorer;
import saferlhf.model.Tokenizer;
import saferlhf.train.MetricsLog;

/**
 * The arena as a web page ({@code saferlhf serve}): a person picks two of the policies the server was started with, types
 * or picks a prompt, and watches both answers stream in, each followed by its reward and cost (when the server has those
 * models) and the judge's verdict (when the judge can rate the prompt); a page per policy shows its training curves and,
 * for a policy of a reproduction, its rates and the reproduction's figures. The JDK's HTTP server, one page of plain
 * HTML and JavaScript from the jar, nothing from the network.
 *
 * <p>Safety of the server itself: it binds where it is told (127.0.0.1 by default), serves only the policies named at
 * start (a request names a policy, never a path), refuses prompts over a length limit, runs at most a set number of
 * generations at once (one per policy at a time; 503 when all slots are busy), answers a bad request with a 4xx and a
 * one-line JSON message, and stops a generation whose client went away, freeing its slot.
 */
public final class ArenaServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the training curves page plots, where the run logged it. */
    static final List<String> CURVES = List.of("train/loss", "train/accuracy", "train/reward", "train/cost", "train/episode_cost",
            "train/lambda", "train/kl_divergence");

    /** The reproduction figures a policy page may show (file names in the reproduction's folder). */
    static final List<String> FIGURES = List.of("helpfulness_vs_harmlessness.png", "rounds.png", "reward_distribution.png",
            "cost_distribution.png");

    /**
     * @param host           the address to bind (127.0.0.1 unless the operator says otherwise)
     * @param port           0 for any free port
     * @param maxPromptChars longer prompts are refused (413)
     * @param maxConcurrent  generations at once over all policies
     * @param maxLength      prompt and answer tokens together, cut to each model's context
     * @param maxNewTokens   answer tokens at most; 0: {@link Chat#defaultAnswerTokens} of each policy's (cut) context
     * @param sampling       how answers are drawn (its own max new tokens is replaced by the answer budget); answer n
     *                       served takes seed + n
     * @param examples       prompts offered for picking (for instance BeaverWorld's evaluation prompts)
     */
    public record Settings(String host, int port, int maxPromptChars, int maxConcurrent, int maxLength, int maxNewTokens,
                           Generation.Config sampling, List<PromptRecord> examples) {}

    /**
     * A served policy: its name in requests, its folder, the loaded model, its prompt budget and sampling, and the lock
     * that lets one of its generations run at once.
     */
    private record Policy(String name, Path folder, CausalLM model, Tokenizer tokenizer, int promptBudget, Generation.Config sampling,
                          Object lock) {}

    private final Map<String, Policy> policies = new LinkedHashMap<>();
    private final Scorer reward, cost;
    private final Judge judge;
    private final Settings settings;
    private final Semaphore slots;
    private final AtomicInteger served = new AtomicInteger(), answered = new AtomicInteger();
    private final HttpServer server;
    private final ExecutorService executor;

    private ArenaServer(Settings settings, Scorer reward, Scorer cost, Judge judge) throws IOException {
        this.settings = settings;
        this.reward = reward;
        this.cost = cost;
        this.judge = judge;
        this.slots = new Semaphore(settings.maxConcurrent());
        this.server = HttpServer.create(new InetSocketAddress(settings.host(), settings.port()), 16);
        this.executor = Executors.newFixedThreadPool(settings.maxConcurrent() + 4);
        server.setExecutor(executor);
        server.createContext("/", this::route);
    }

    /**
     * Loads the policies (a name each) and the optional score models on {@code device}, then serves; closing the server
     * frees them all.
     */
    public static ArenaServer start(Map<String, Path> policies, Path rewardModel, Path costModel, Judge judge, Settings settings,
                                    ai.djl.Device device) throws IOException {
        if (policies.isEmpty()) throw new saferlhf.util.InputError("no policy to serve: give --policy NAME=DIR");
        Scorer reward = null, cost = null;
        ArenaServer arena = null;
        try {
            reward = rewardModel == null ? null : Scorer.load(rewardModel, device);
            cost = costModel == null ? null : Scorer.load(costModel, device);
            arena = new ArenaServer(settings, reward, cost, judge);
            for (var entry : policies.entrySet()) {
                Tokenizer tokenizer = Tokenizer.load(ModelFiles.tokenizerFolder(entry.getValue()));
                CausalLM model;
                try {
                    model = ModelFiles.loadCausalLM(entry.getValue(), device);
                } catch (IOException | RuntimeException e) {
                    tokenizer.close();
                    throw e;
                }
                int context = Math.min(settings.maxLength(), model.config().maxPositions());
                int answerTokens = settings.maxNewTokens() > 0 ? settings.maxNewTokens() : Chat.defaultAnswerTokens(context);
                arena.policies.put(entry.getKey(), new Policy(entry.getKey(), entry.getValue(), model, tokenizer,
                        context - answerTokens, settings.sampling().withMaxNewTokens(answerTokens), new Object()));
                if (context - answerTokens < 2) {
                    throw new saferlhf.util.InputError(entry.getValue(), "an answer of up to " + answerTokens
                            + " tokens leaves no room for the prompt in this model's " + context + " tokens");
                }
            }
        } catch (IOException | RuntimeException e) {
            if (arena != null) arena.close();
            else {
                if (reward != null) reward.close();
                if (cost != null) cost.close();
            }
            throw e;
        }
        arena.server.start();
        return arena;
    }

    /** Where the page is served, e.g. {@code http://127.0.0.1:8080/}. */
    public URI address() {
        return URI.create("http://" + settings.host() + ":" + server.getAddress().getPort() + "/");
    }

    /** Answers streamed to their end since the start (for tests and the log). */
    public int answered() { return answered.get(); }

    /** Generation slots free now. */
    public int freeSlots() { return slots.availablePermits(); }

    // ---- routing -------------------------------------------------------------------------------------------------

    /** A request refused: its status and the message the client sees. */
    private static final class Refused extends RuntimeException {
        final int status;

        Refused(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    private void route(HttpExchange exchange) {
        try (exchange) { // closed after the catch blocks below have answered
            try {
                String path = exchange.getRequestURI().getPath();
                String method = exchange.getRequestMethod();
                if (path.equals("/api/answer")) {
                    requireMethod(method, "POST");
                    answer(exchange);
                    return;
                }
                requireMethod(method, "GET");
                if (path.equals("/")) send(exchange, 200, "text/html; charset=utf-8", resource("arena.html"));
                else if (path.equals("/api/policies")) sendJson(exchange, 200, policiesJson());
                else if (path.equals("/api/prompts")) sendJson(exchange, 200, promptsJson());
                else if (path.startsWith("/policy/")) policyPage(exchange, path.substring("/policy/".length()));
                else throw new Refused(404, "no such page: " + path);
            } catch (Refused r) {
                sendError(exchange, r.status, r.getMessage());
            } catch (IOException e) {
                // the client went away while we wrote: nothing left to tell it
            } catch (RuntimeException e) {
                sendError(exchange, 500, "internal error: " + e);
            }
        }
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equals(allowed)) throw new Refused(405, method + " is not allowed here; use " + allowed);
    }

    private ObjectNode policiesJson() {
        ObjectNode node = JSON.createObjectNode();
        policies.keySet().forEach(node.putArray("policies")::add);
        node.put("max_prompt_chars", settings.maxPromptChars());
        node.put("reward_model", reward != null);
        node.put("cost_model", cost != null);
        return node;
    }

    private ObjectNode promptsJson() {
        ObjectNode node = JSON.createObjectNode();
        var array = node.putArray("prompts");
        for (PromptRecord p : settings.examples()) {
            ObjectNode item = array.addObject();
            item.put("prompt", p.prompt());
            // the judge's reading of the prompt (harmful or benign), from its rating of an empty answer
            if (judge != null && judge.canRate(p)) item.put("kind", judge.rate(p, "").promptKind().toString().toLowerCase());
        }
        return node;
    }

    // ---- answers ---------------------------------------------------------------------------------------------------

    /**
     * POST {@code {"policy": NAME, "prompt": TEXT}}: the answer as newline-delimited JSON, {@code {"text": PIECE}} per piece
     * as it is sampled, then {@code {"done": true, "answer": ..., "reward": ..., "cost": ..., "judge": ...}} (a score
     * or verdict the server cannot give is absent).
     */
    private void answer(HttpExchange exchange) throws IOException {
        JsonNode request;
        try (InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readNBytes(settings.maxPromptChars() * 4 + 1024);
            request = JSON.readTree(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new Refused(400, "the request body is not JSON: " + e.getOriginalMessage());
        }
        if (request == null || !request.isObject()) throw new Refused(400, "expected a JSON object {\"policy\": NAME, \"prompt\": TEXT}");
        String name = request.path("policy").asText("");
        String prompt = request.path("prompt").asText("").strip();
        Policy policy = policies.get(name);
        if (policy == null) throw new Refused(404, "unknown policy '" + name + "'; this server serves " + String.join(", ", policies.keySet()));
        if (prompt.isEmpty()) throw new Refused(400, "an empty prompt");
        if (prompt.length() > settings.maxPromptChars()) {
            throw new Refused(413, "the prompt has " + prompt.length() + " characters; at most " + settings.maxPromptChars());
        }
        if (!slots.tryAcquire()) throw new Refused(503, "all " + settings.maxConcurrent() + " generation slots are busy; try again shortly");
        try {
            exchange.getResponseHeaders().set("Content-Type", "application/x-ndjson; charset=utf-8");
            exchange.getResponseHeaders().set("Cache-Control", "no-store");
            exchange.sendResponseHeaders(200, 0); // chunked
            OutputStream out = exchange.getResponseBody();
            String answer;
            synchronized (policy.lock()) {
                Generation.Config config = policy.sampling().withSeed(policy.sampling().seed() + served.getAndIncrement());
                answer = Chat.answer(policy.model(), policy.tokenizer(), PromptTemplate.format(prompt), policy.promptBudget(), config,
                        piece -> writeLine(out, JSON.createObjectNode().put("text", piece)));
            }
            ObjectNode done = JSON.createObjectNode().put("done", true).put("answer", answer);
            Assessment a = Assessment.of(prompt, answer, reward, cost, judge, settings.maxLength());
            if (a.reward() != null) done.put("reward", a.reward());
            if (a.cost() != null) done.put("cost", a.cost());
            if (a.rating() != null) {
                done.putObject("judge").put("prompt_kind", a.rating().promptKind().toString().toLowerCase())
                        .put("safe", a.rating().safe()).put("refused", a.rating().refused()).put("helpfulness", a.rating().helpfulness());
            }
            done.put("describe", a.describe());
            writeLine(out, done);
            answered.incrementAndGet();
        } catch (UncheckedIOException gone) {
            // the client closed the connection mid-stream: the generation stopped at its next token; the slot is freed below
        } finally {
            slots.release();
        }
    }

    private static void writeLine(OutputStream out, JsonNode node) {
        try {
            out.write((node.toString() + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- policy pages ------------------------------------------------------------------------------------------------

    /** {@code /policy/NAME}, {@code /policy/NAME/curve.png?metric=M}, {@code /policy/NAME/figure/FILE}. */
    private void policyPage(HttpExchange exchange, String rest) throws IOException {
        String[] parts = rest.split("/", 2);
        Policy policy = policies.get(URLDecoder.decode(parts[0], StandardCharsets.UTF_8));
        if (policy == null) throw new Refused(404, "unknown policy '" + parts[0] + "'; this server serves " + String.join(", ", policies.keySet()));
        Path run = runFolder(policy);
        if (parts.length == 1 || parts[1].isEmpty()) {
            send(exchange, 200, "text/html; charset=utf-8", PolicyPage.html(policy.name(), policy.folder(), curves(run), reproduction(policy))
                    .getBytes(StandardCharsets.UTF_8));
        } else if (parts[1].equals("curve.png")) {
            String metric = query(exchange).getOrDefault("metric", "");
            if (!curves(run).contains(metric)) throw new Refused(404, "this run logged no curve '" + metric + "'");
            send(exchange, 200, "image/png", png(Charts.image(Runs.curve(run, policy.name() + ": " + metric, metric))));
        } else if (parts[1].startsWith("figure/")) {
            String file = parts[1].substring("figure/".length());
            InReproduction reproduction = FIGURES.contains(file) ? reproduction(policy) : null;
            if (reproduction == null || !reproduction.figures().contains(file)) throw new Refused(404, "no figure '" + file + "' for this policy");
            send(exchange, 200, "image/png", Files.readAllBytes(reproduction.folder().resolve(file)));
        } else {
            throw new Refused(404, "no such page: /policy/" + rest);
        }
    }

    /** The run folder of a policy: the folder above {@code model/}, or the folder itself. */
    private static Path runFolder(Policy policy) {
        Path f = policy.folder();
        return f.getFileName() != null && f.getFileName().toString().equals("model") ? f.getParent() : f;
    }

    /** The curves of {@link #CURVES} the run logged. */
    private static List<String> curves(Path run) throws IOException {
        Path log = run.resolve("metrics.jsonl");
        if (!Files.isRegularFile(log)) return List.of();
        var seen = new java.util.HashSet<String>();
        for (Map<String, Double> row : MetricsLog.read(log)) seen.addAll(row.keySet());
        return CURVES.stream().filter(seen::contains).toList();
    }

    /** A policy's place in a reproduction: the reproduction's folder, the policy's name there, its rates. */
    record InReproduction(Path folder, String name, JsonNode rates) {
        /** The figures of {@link #FIGURES} the reproduction wrote. */
        List<String> figures() {
            return FIGURES.stream().filter(f -> Files.isRegularFile(folder.resolve(f))).toList();
        }
    }

    /**
     * The reproduction (a folder with {@code summary.json}, at most four levels up) whose policies include this one, with
     * the policy's entry there; null when there is none.
     */
    private static InReproduction reproduction(Policy policy) throws IOException {
        Path folder = policy.folder().toRealPath();
        Path up = folder.getParent();
        for (int level = 0; level < 4 && up != null; level++, up = up.getParent()) {
            Path summary = up.resolve("summary.json");
            if (!Files.isRegularFile(summary)) continue;
            for (var it = JSON.readTree(summary.toFile()).path("policies").fields(); it.hasNext(); ) {
                var e = it.next();
                String model = e.getValue().path("model").asText("");
                if (!model.isEmpty() && Files.exists(Path.of(model)) && Path.of(model).toRealPath().equals(folder)) {
                    return new InReproduction(up, e.getKey(), e.getValue());
                }
            }
        }
        return null;
    }

    // ---- plumbing ------------------------------------------------------------------------------------------------------

    private static Map<String, String> query(HttpExchange exchange) {
        Map<String, String> out = new LinkedHashMap<>();
        String raw = exchange.getRequestURI().getRawQuery();
        if (raw == null) return out;
        for (String kv : raw.split("&")) {
            int eq = kv.indexOf('=');
            if (eq > 0) out.put(URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8), URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return out;
    }

    private static byte[] png(java.awt.image.BufferedImage image) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(image, "png", bytes);
        return bytes.toByteArray();
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = ArenaServer.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing resource saferlhf/serve/" + name + " (a broken build)");
            return in.readAllBytes();
        }
    }

    private static void send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private static void sendJson(HttpExchange exchange, int status, JsonNode node) throws IOException {
        send(exchange, status, "application/json; charset=utf-8", (node.toString() + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static void sendError(HttpExchange exchange, int status, String message) {
        try {
            sendJson(exchange, status, JSON.createObjectNode().put("error", message));
        } catch (IOException | RuntimeException e) {
            // headers already sent (a stream failed midway) or the client is gone
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        for (Policy p : policies.values()) {
            synchronized (p.lock()) {
                p.model().close();
                p.tokenizer().close();
            }
        }
        if (reward != null) reward.close();
        if (cost != null) cost.close();
    }
}
