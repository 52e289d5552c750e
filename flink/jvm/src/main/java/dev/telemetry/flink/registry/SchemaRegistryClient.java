package dev.telemetry.flink.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Base64;
import javax.net.ssl.SSLContext;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Fetches schemas by id from a Confluent-compatible registry ({@code GET {url}/schemas/ids/{id}}).
 *
 * <p>Only "schema not found" (HTTP 404 with Confluent error code 40403) means the id is unknown;
 * that answer is remembered for {@code negativeTtl} so a flood of records with a bad id costs one
 * request per id per TTL. Anything else (connection refused, 5xx, a 404 from a wrong base URL,
 * an unreadable body) is retried with exponential backoff and then thrown as an {@link
 * IOException}: a registry outage or misconfiguration must fail the job, never turn good records
 * into dead letters.
 *
 * <p>Positive answers are not cached here: the caller caches what it builds from them.
 * Not serializable; create it where it is used (in {@code open()}), from {@link RegistrySettings#client()}.
 */
public final class SchemaRegistryClient {

    /** Confluent's error code for "Schema not found" (Apicurio's ccompat API uses it too). */
    static final int SCHEMA_NOT_FOUND = 40403;

    /** A schema as the registry returns it. */
    public record RegisteredSchema(int id, String type, String text) {
        public boolean isAvro() {
            return "AVRO".equals(type);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String baseUrl;
    private final int attempts;
    private final Duration firstBackoff;
    private final long negativeTtlNanos;
    private final LongSupplier nanoClock;
    private final HttpClient http;
    private final String authorization; // null: no basic auth
    private final Duration requestTimeout;
    /** Unknown id -> System.nanoTime() after which the registry is asked again. */
    private final ConcurrentHashMap<Integer, Long> unknownUntil = new ConcurrentHashMap<>();

    SchemaRegistryClient(
            String baseUrl,
            int attempts,
            Duration firstBackoff,
            Duration requestTimeout,
            Duration negativeTtl,
            LongSupplier nanoClock) {
        this(baseUrl, attempts, firstBackoff, requestTimeout, negativeTtl, nanoClock, null, null);
    }

    SchemaRegistryClient(
            String baseUrl,
            int attempts,
            Duration firstBackoff,
            Duration requestTimeout,
            Duration negativeTtl,
            LongSupplier nanoClock,
            SSLContext tls,
            String userInfo) {
        this.baseUrl = stripTrailingSlashes(baseUrl);
        this.attempts = attempts;
        this.firstBackoff = firstBackoff;
        this.requestTimeout = requestTimeout;
        this.negativeTtlNanos = negativeTtl.toNanos();
        this.nanoClock = nanoClock;
        HttpClient.Builder http = HttpClient.newBuilder().connectTimeout(requestTimeout);
        if (tls != null) {
            http.sslContext(tls);
        }
        this.http = http.build();
        this.authorization = userInfo == null || userInfo.isEmpty()
                ? null
                : "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The defaults the jobs use: 4 attempts over ~1.75 s, 30 s negative cache; trusting the CA in
     * the PEM file {@code caLocation} (null: the JVM's trust store) and sending {@code userInfo}
     * ({@code user:password}) as basic auth (null: none).
     */
    static SchemaRegistryClient withDefaults(String baseUrl, String caLocation, String userInfo) {
        return new SchemaRegistryClient(
                baseUrl,
                4,
                Duration.ofMillis(250),
                Duration.ofSeconds(10),
                Duration.ofSeconds(30),
                System::nanoTime,
                caLocation == null || caLocation.isEmpty() ? null : Tls.trusting(caLocation),
                userInfo);
    }

    /**
     * The schema with this id, or empty if the registry says it does not exist.
     *
     * @throws IOException if the registry could not give an answer after all attempts
     */
    public Optional<RegisteredSchema> schemaById(int id) throws IOException {
        return schemaById(id, false);
    }

    /**
     * As {@link #schemaById(int)}; with {@code askAgain}, an id remembered as unknown is asked
     * for again (a replayed dead letter: its schema was registered since).
     */
    public Optional<RegisteredSchema> schemaById(int id, boolean askAgain) throws IOException {
        Long until = askAgain ? null : unknownUntil.get(id);
        if (until != null) {
            if (nanoClock.getAsLong() - until < 0) {
                return Optional.empty();
            }
            unknownUntil.remove(id, until);
        }
        URI uri = URI.create(baseUrl + "/schemas/ids/" + id);
        Optional<RegisteredSchema> schema = withRetries("schema id " + id, () -> fetch(uri, id));
        if (schema.isEmpty()) {
            unknownUntil.put(id, nanoClock.getAsLong() + negativeTtlNanos);
        }
        return schema;
    }

    /** One registry request, which may fail with an IOException. */
    private interface Request<T> {
        T send() throws IOException;
    }

    /** `request`, retried with exponential backoff; after the last attempt, its failure. */
    private <T> T withRetries(String what, Request<T> request) throws IOException {
        IOException last = null;
        for (int attempt = 1; attempt <= attempts; attempt++) {
            try {
                return request.send();
            } catch (IOException e) {
                last = e;
            }
            if (attempt < attempts) {
                sleep(firstBackoff.multipliedBy(1L << (attempt - 1)));
            }
        }
        throw new IOException(
                "schema registry " + baseUrl + " gave no answer for " + what + " after "
                        + attempts + " attempts (is SCHEMA_REGISTRY_URL right and the registry up?): "
                        + last.getMessage(),
                last);
    }

    /**
     * The id under which {@code subject} holds exactly this schema ({@code POST {url}/subjects/{subject}},
     * Confluent's "look up a schema under a subject"), or empty if the subject does not exist or does
     * not hold it. Never registers anything.
     *
     * @throws IOException if the registry could not give an answer after all attempts
     */
    public Optional<Integer> registeredId(String subject, String schemaText) throws IOException {
        URI uri = URI.create(baseUrl + "/subjects/" + java.net.URLEncoder.encode(subject, StandardCharsets.UTF_8));
        String body = JSON.createObjectNode().put("schema", schemaText).toString();
        return withRetries("subject " + subject, () -> lookup(uri, body));
    }

    /** Confluent's error code for "Subject not found". */
    static final int SUBJECT_NOT_FOUND = 40401;

    private Optional<Integer> lookup(URI uri, String json) throws IOException {
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
                .timeout(requestTimeout)
                .header("Accept", "application/vnd.schemaregistry.v1+json, application/json")
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
        if (authorization != null) {
            builder.header("Authorization", authorization);
        }
        HttpResponse<String> response;
        try {
            response = http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while looking up " + uri);
        }
        int status = response.statusCode();
        JsonNode body = parse(response.body());
        int code = body == null ? 0 : body.path("error_code").asInt();
        if (status == 404 && (code == SUBJECT_NOT_FOUND || code == SCHEMA_NOT_FOUND)) {
            return Optional.empty();
        }
        if (status != 200 || body == null || !body.path("id").isInt()) {
            throw new IOException("POST " + uri + " -> HTTP " + status + ": " + abbreviate(response.body()));
        }
        return Optional.of(body.get("id").asInt());
    }

    private Optional<RegisteredSchema> fetch(URI uri, int id) throws IOException {
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
                .timeout(requestTimeout)
                .header("Accept", "application/vnd.schemaregistry.v1+json, application/json")
                .GET();
        if (authorization != null) {
            builder.header("Authorization", authorization);
        }
        HttpRequest request = builder.build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while fetching " + uri);
        }
        int status = response.statusCode();
        JsonNode body = parse(response.body());
        if (status == 404 && body != null && body.path("error_code").asInt() == SCHEMA_NOT_FOUND) {
            return Optional.empty();
        }
        if (status != 200 || body == null || !body.path("schema").isTextual()) {
            throw new IOException("GET " + uri + " -> HTTP " + status + ": " + abbreviate(response.body()));
        }
        // Confluent omits schemaType for Avro.
        String type = body.path("schemaType").asText("AVRO");
        return Optional.of(new RegisteredSchema(id, type, body.get("schema").asText()));
    }

    private static JsonNode parse(String body) {
        try {
            return body == null || body.isBlank() ? null : JSON.readTree(body);
        } catch (IOException e) {
            return null;
        }
    }

    private static void sleep(Duration duration) throws InterruptedIOException {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to retry the schema registry");
        }
    }

    private static String stripTrailingSlashes(String url) {
        String stripped = url.strip();
        while (stripped.endsWith("/")) {
            stripped = stripped.substring(0, stripped.length() - 1);
        }
        return stripped;
    }

    private static String abbreviate(String text) {
        String line = text == null ? "" : text.replaceAll("\\s+", " ").strip();
        return line.length() <= 200 ? line : line.substring(0, 200) + "...";
    }
}
