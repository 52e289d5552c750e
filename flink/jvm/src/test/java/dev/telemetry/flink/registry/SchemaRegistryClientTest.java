package dev.telemetry.flink.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The JVM's registry client against a registry that answers as Apicurio's ccompat API does. */
class SchemaRegistryClientTest {

    static final Schema KEY = new Schema.Parser().parse(
            "{\"type\":\"record\",\"name\":\"Key\",\"fields\":[{\"name\":\"car_id\",\"type\":\"int\"}]}");
    static final Schema OTHER = new Schema.Parser().parse(
            "{\"type\":\"record\",\"name\":\"Other\",\"fields\":[{\"name\":\"n\",\"type\":\"long\"}]}");

    FakeRegistry registry;
    final AtomicLong nanos = new AtomicLong();
    SchemaRegistryClient client;

    @BeforeEach
    void start() throws IOException {
        registry = new FakeRegistry().register("car-key", 5, KEY);
        client = new SchemaRegistryClient(registry.url() + "//", 3, Duration.ofMillis(1), Duration.ofSeconds(5),
                Duration.ofSeconds(30), nanos::get);
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    @Test
    void aSchemaIsFetchedByIdWithItsType() throws IOException {
        SchemaRegistryClient.RegisteredSchema schema = client.schemaById(5).orElseThrow();
        assertEquals(5, schema.id());
        assertTrue(schema.isAvro(), "Confluent leaves schemaType out for Avro");
        assertEquals(KEY, new Schema.Parser().parse(schema.text()));
    }

    @Test
    void anUnknownIdIsRememberedForTheNegativeTtl() throws IOException {
        assertEquals(Optional.empty(), client.schemaById(77));
        assertEquals(Optional.empty(), client.schemaById(77));
        assertEquals(1, registry.hits(77));
        nanos.addAndGet(Duration.ofSeconds(30).toNanos());
        client.schemaById(77);
        assertEquals(2, registry.hits(77), "asked again once the TTL passed");
        client.schemaById(77, true);
        assertEquals(3, registry.hits(77), "askAgain bypasses the cache");
    }

    @Test
    void aFailingRegistryIsRetriedThenThrownNamingTheSetting() throws IOException {
        registry.failNext(2);
        assertTrue(client.schemaById(5).isPresent(), "the third attempt succeeds");
        registry.failNext(3);
        IOException e = assertThrows(IOException.class, () -> client.schemaById(5));
        assertTrue(e.getMessage().contains("after 3 attempts (is SCHEMA_REGISTRY_URL right"), e.getMessage());
    }

    @Test
    void theIdASubjectHoldsASchemaAsIsLookedUpNeverRegistered() throws IOException {
        assertEquals(Optional.of(5), client.registeredId("car-key", KEY.toString()));
        assertEquals(Optional.empty(), client.registeredId("car-key", OTHER.toString()), "not under it");
        assertEquals(Optional.empty(), client.registeredId("no-such-subject", KEY.toString()));
    }

    @Test
    void basicAuthUserInfoIsSentAsAnAuthorizationHeader() throws IOException {
        SchemaRegistryClient.withDefaults(registry.url(), null, "telemetry:s3cret").schemaById(5);
        assertEquals("Basic dGVsZW1ldHJ5OnMzY3JldA==", registry.lastAuthorization);
        SchemaRegistryClient.withDefaults(registry.url(), null, null).registeredId("car-key", KEY.toString());
        assertNull(registry.lastAuthorization, "no credentials configured: none sent");
    }
}
