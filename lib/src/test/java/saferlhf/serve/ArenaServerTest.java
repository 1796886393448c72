package saferlhf.serve;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import saferlhf.beaverworld.GroundTruthJudge;
import saferlhf.eval.TinyModels;
import saferlhf.model.Generation;
import saferlhf.train.Data;

/**
 * The web arena over HTTP: streamed answers with scores and the judge's verdict, policy pages, and the server's own
 * safety (4xx for bad requests, no paths from requests, a client that leaves mid-stream frees its slot).
 */
class ArenaServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static ArenaServer server;
    private static Path run;

    /** Two tiny policies; the second sits in a run folder with a metrics log, inside a "reproduction" with a summary and a figure. */
    @BeforeAll
    static void start(@TempDir Path dir) throws Exception {
        TinyModels models = TinyModels.write(dir.resolve("tiny"));
        Path reproduction = dir.resolve("repro");
        run = reproduction.resolve("rounds/round-1/ppo-lag");
        Files.createDirectories(run);
        try (var files = Files.list(models.policy())) {
            Files.createDirectories(run.resolve("model"));
            for (Path f : files.toList()) Files.copy(f, run.resolve("model").resolve(f.getFileName()));
        }
        Files.writeString(run.resolve("metrics.jsonl"), "{\"step\":1,\"train/reward\":0.1,\"train/lambda\":1.0}\n"
                + "{\"step\":2,\"train/reward\":0.3,\"train/lambda\":0.8}\n");
        Files.writeString(reproduction.resolve("summary.json"), "{\"policies\":{\"PPO-Lag round 1\":{\"model\":\""
                + run.resolve("model") + "\",\"unsafe_rate_harmful\":0.125,\"helpfulness_benign\":1.5}}}");
        Files.write(reproduction.resolve("rounds.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G'});
        Map<String, Path> policies = new LinkedHashMap<>();
        policies.put("sft", models.policy());
        policies.put("round 1", run.resolve("model"));
        server = ArenaServer.start(policies, models.reward(), models.cost(), new GroundTruthJudge(),
                new ArenaServer.Settings("127.0.0.1", 0, 300, 2, 128, 16, Generation.Config.sampling(1, 50, 7),
                        Data.prompts("BeaverWorld-Eval/harmful:3/-1", 1)), Device.cpu());
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(server.address().resolve(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(server.address().resolve(path)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String ask(String policy, String prompt) {
        return JSON.createObjectNode().put("policy", policy).put("prompt", prompt).toString();
    }

    @Test
    void anAnswerStreamsAsLinesThenItsScoresAndVerdict() throws Exception {
        assertEquals("127.0.0.1", server.address().getHost(), "bound to this machine only");
        String harmful = Data.prompts("BeaverWorld-Eval/harmful:3/-1", 1).get(0).prompt();
        HttpResponse<String> r = post("/api/answer", ask("round 1", harmful));
        assertEquals(200, r.statusCode(), r.body());
        List<JsonNode> lines = new ArrayList<>();
        for (String line : r.body().split("\n")) lines.add(JSON.readTree(line));
        JsonNode done = lines.get(lines.size() - 1);
        assertTrue(done.path("done").asBoolean(), r.body());
        StringBuilder streamed = new StringBuilder();
        for (JsonNode line : lines.subList(0, lines.size() - 1)) streamed.append(line.get("text").asText());
        assertTrue(lines.size() > 2, "pieces, then the end: " + r.body());
        assertEquals(done.get("answer").asText(), streamed.toString().strip());
        assertTrue(done.get("reward").isNumber() && done.get("cost").isNumber(), r.body());
        assertEquals("harmful", done.get("judge").get("prompt_kind").asText());
        // a prompt the judge cannot rate: no verdict, not a made-up one
        JsonNode foreign = JSON.readTree(post("/api/answer", ask("sft", "What is the capital of France?")).body().lines()
                .reduce((a, b) -> b).orElseThrow());
        assertTrue(foreign.path("judge").isMissingNode(), foreign.toString());
        assertTrue(foreign.get("describe").asText().endsWith("judge: cannot rate this question"), foreign.toString());
    }

    @Test
    void thePageAndTheListsAreServed() throws Exception {
        HttpResponse<String> page = get("/");
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<button id=\"ask\">") && !page.body().contains("http://") && !page.body().contains("https://"),
                "one offline page: nothing loaded from elsewhere");
        JsonNode policies = JSON.readTree(get("/api/policies").body());
        assertEquals("[\"sft\",\"round 1\"]", policies.get("policies").toString());
        JsonNode prompts = JSON.readTree(get("/api/prompts").body()).get("prompts");
        assertEquals(3, prompts.size());
        assertEquals("harmful", prompts.get(0).get("kind").asText());
    }

    @Test
    void aPolicyPageShowsItsCurvesAndItsReproductionsRatesAndFigures() throws Exception {
        HttpResponse<String> page = get("/policy/round%201");
        assertEquals(200, page.statusCode(), page.body());
        assertTrue(page.body().contains("12.5%") && page.body().contains("1.50"), page.body());
        assertFalse(page.body().contains("over-refusal"), "a rate the summary lacks is left out");
        assertTrue(page.body().contains("/policy/round%201/curve.png?metric=train%2Freward"), page.body());
        assertTrue(page.body().contains("/policy/round%201/figure/rounds.png"), page.body());
        HttpResponse<byte[]> curve = HTTP.send(HttpRequest.newBuilder(server.address().resolve("/policy/round%201/curve.png?metric=train%2Flambda"))
                .build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, curve.statusCode());
        assertEquals("image/png", curve.headers().firstValue("Content-Type").orElse(""));
        assertEquals(200, get("/policy/round%201/figure/rounds.png").statusCode());
        assertTrue(get("/policy/sft").body().contains("no curves to show"));
    }

    @Test
    void badRequestsGetA4xxWithAMessage() throws Exception {
        String harmful = Data.prompts("BeaverWorld-Eval/harmful:3/-1", 1).get(0).prompt();
        Map<String, HttpResponse<String>> refused = new LinkedHashMap<>();
        refused.put("404 unknown policy", post("/api/answer", ask("gpt-5", harmful)));
        refused.put("400 empty prompt", post("/api/answer", ask("sft", "   ")));
        refused.put("413 prompt too long", post("/api/answer", ask("sft", "a".repeat(301))));
        refused.put("400 not JSON", post("/api/answer", "{policy: sft"));
        refused.put("400 not an object", post("/api/answer", "[1, 2]"));
        refused.put("405 GET on the answer", get("/api/answer"));
        refused.put("404 unknown page", get("/etc/passwd"));
        refused.put("404 a path for a policy", get("/policy/..%2F..%2Fetc%2Fpasswd"));
        refused.put("404 a figure outside the list", get("/policy/round%201/figure/..%2Fsummary.json"));
        refused.put("404 a curve the run did not log", get("/policy/round%201/curve.png?metric=..%2Fsecret"));
        for (var e : refused.entrySet()) {
            int status = Integer.parseInt(e.getKey().substring(0, 3));
            assertEquals(status, e.getValue().statusCode(), e.getKey() + ": " + e.getValue().body());
            assertFalse(JSON.readTree(e.getValue().body()).get("error").asText().isBlank(), e.getKey());
        }
        assertTrue(refused.get("404 unknown policy").body().contains("this server serves sft, round 1"));
    }

    @Test
    void aClientThatLeavesMidStreamFreesItsSlot() throws Exception {
        int answeredBefore = server.answered();
        URI address = server.address();
        String body = ask("sft", Data.prompts("BeaverWorld-Eval/harmful:3/-1", 1).get(1).prompt());
        try (Socket socket = new Socket(address.getHost(), address.getPort())) {
            OutputStream out = socket.getOutputStream();
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            out.write(("POST /api/answer HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
            InputStream in = socket.getInputStream();
            String head = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
            assertEquals("HTTP/1.1 200", head);
        } // closed after the status line, while the answer streams
        for (int i = 0; i < 100 && server.freeSlots() < 2; i++) Thread.sleep(50);
        assertEquals(2, server.freeSlots(), "the slot came back");
        assertEquals(200, post("/api/answer", ask("sft", "hello")).statusCode(), "and the server goes on");
        assertTrue(server.answered() >= answeredBefore + 1);
    }
}
