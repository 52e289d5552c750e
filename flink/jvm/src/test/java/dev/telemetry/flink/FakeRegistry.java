package dev.telemetry.flink;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;

/**
 * A Confluent-compatible registry answering {@code GET /apis/ccompat/v7/schemas/ids/{id}} the way
 * Apicurio does: 200 {"schema": ...}, or 404 {"error_code": 40403, ...}. It counts requests per
 * id and can be told to fail with HTTP 503.
 */
final class FakeRegistry implements AutoCloseable {
    static final String PATH = "/apis/ccompat/v7";

    private final HttpServer server;
    private final Map<Integer, String> bodies = new ConcurrentHashMap<>();
    private final Map<Integer, AtomicInteger> hits = new ConcurrentHashMap<>();
    private final AtomicInteger failuresLeft = new AtomicInteger();

    FakeRegistry() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext(PATH + "/schemas/ids/", this::handle);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + PATH;
    }

    FakeRegistry register(int id, Schema schema) {
        return registerBody(id, "{\"schema\": " + quote(schema.toString()) + "}");
    }

    FakeRegistry registerBody(int id, String body) {
        bodies.put(id, body);
        return this;
    }

    /** The next {@code n} requests get HTTP 503. */
    void failNext(int n) {
        failuresLeft.set(n);
    }

    int hits(int id) {
        AtomicInteger n = hits.get(id);
        return n == null ? 0 : n.get();
    }

    /** The Authorization header of the last request (null if none). */
    volatile String lastAuthorization;

    private void handle(HttpExchange exchange) throws IOException {
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
