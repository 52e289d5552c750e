package dev.telemetry.flink.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;

/**
 * A Confluent-compatible registry answering the way Apicurio does:
 *
 * <ul>
 *   <li>{@code GET /apis/ccompat/v7/schemas/ids/{id}}: 200 {"schema": ...}, or 404 {"error_code":
 *       40403, ...};
 *   <li>{@code POST /apis/ccompat/v7/subjects/{subject}} {"schema": ...}: 200 {"id": ...} when the
 *       subject holds that schema, else 404 with 40401 (no such subject) or 40403 (not under it).
 * </ul>
 *
 * It counts requests per id and can be told to fail with HTTP 503.
 */
public final class FakeRegistry implements AutoCloseable {
    public static final String PATH = "/apis/ccompat/v7";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final Map<Integer, String> bodies = new ConcurrentHashMap<>();
    private final Map<String, Map<Schema, Integer>> subjects = new ConcurrentHashMap<>();
    private final Map<Integer, AtomicInteger> hits = new ConcurrentHashMap<>();
    private final AtomicInteger failuresLeft = new AtomicInteger();

    /** The Authorization header of the last request (null if none). */
    public volatile String lastAuthorization;

    public FakeRegistry() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(PATH + "/schemas/ids/", this::handleId);
        server.createContext(PATH + "/subjects/", this::handleSubject);
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + PATH;
    }

    /** Settings for this registry, without credentials. */
    public RegistrySettings settings() {
        return RegistrySettings.builder().url(url()).build();
    }

    public FakeRegistry register(int id, Schema schema) {
        return registerBody(id, "{\"schema\": " + quote(schema.toString()) + "}");
    }

    public FakeRegistry registerBody(int id, String body) {
        bodies.put(id, body);
        return this;
    }

    /** Registers {@code schema} as {@code id} under {@code subject}. */
    public FakeRegistry register(String subject, int id, Schema schema) {
        subjects.computeIfAbsent(subject, s -> new ConcurrentHashMap<>()).put(schema, id);
        return register(id, schema);
    }

    /** The next {@code n} requests get HTTP 503. */
    public void failNext(int n) {
        failuresLeft.set(n);
    }

    public int hits(int id) {
        AtomicInteger n = hits.get(id);
        return n == null ? 0 : n.get();
    }

    private void handleId(HttpExchange exchange) throws IOException {
        lastAuthorization = exchange.getRequestHeaders().getFirst("Authorization");
        String path = exchange.getRequestURI().getPath();
        int id = Integer.parseInt(path.substring(path.lastIndexOf('/') + 1));
        hits.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
        if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            respond(exchange, 503, "{\"message\":\"unavailable\",\"error_code\":50003}");
        } else if (bodies.containsKey(id)) {
            respond(exchange, 200, bodies.get(id));
        } else {
            respond(exchange, 404, "{\"message\":\"Schema " + id + " not found.\",\"error_code\":40403}");
        }
    }

    private void handleSubject(HttpExchange exchange) throws IOException {
        lastAuthorization = exchange.getRequestHeaders().getFirst("Authorization");
        String raw = exchange.getRequestURI().getRawPath();
        String subject = URLDecoder.decode(raw.substring(raw.lastIndexOf('/') + 1), StandardCharsets.UTF_8);
        String posted = JSON.readTree(exchange.getRequestBody()).path("schema").asText();
        Map<Schema, Integer> held = subjects.get(subject);
        Integer id = held == null ? null : held.get(new Schema.Parser().parse(posted));
        if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            respond(exchange, 503, "{\"message\":\"unavailable\",\"error_code\":50003}");
        } else if (held == null) {
            respond(exchange, 404, "{\"message\":\"Subject not found.\",\"error_code\":40401}");
        } else if (id == null) {
            respond(exchange, 404, "{\"message\":\"Schema not found.\",\"error_code\":40403}");
        } else {
            respond(exchange, 200, "{\"subject\":" + quote(subject) + ",\"id\":" + id + ",\"version\":1}");
        }
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/vnd.schemaregistry.v1+json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
