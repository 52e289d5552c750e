package dev.telemetry.flink.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The registry's settings: named, checked when built, and never holding the credentials. */
class RegistrySettingsTest {

    static final String VARIABLE = "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO";

    @Test
    void theBuilderSetsEachSettingByName() {
        RegistrySettings settings = RegistrySettings.builder()
                .url(" https://registry:8085/apis/ccompat/v7 ")
                .caLocation("/etc/ca.pem")
                .basicAuthUserInfoVariable(VARIABLE)
                .build();
        assertEquals("https://registry:8085/apis/ccompat/v7", settings.url());
        assertEquals("/etc/ca.pem", settings.caLocation());
        assertEquals(VARIABLE, settings.basicAuthUserInfoVariable());
    }

    @Test
    void blankOptionalSettingsAreUnset() {
        RegistrySettings settings = RegistrySettings.builder()
                .url("http://127.0.0.1:8085").caLocation("").basicAuthUserInfoVariable(" ").build();
        assertNull(settings.caLocation());
        assertNull(settings.basicAuthUserInfoVariable());
    }

    @Test
    void aUrlThatIsNotHttpIsRefusedWhenTheJobIsBuilt() {
        for (String url : new String[] {"127.0.0.1:8085", "ftp://registry", "http://", "", null, "http://a b"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> RegistrySettings.builder().url(url).build(), String.valueOf(url));
            assertTrue(e.getMessage().startsWith("schema registry URL"), e.getMessage());
        }
    }

    @Test
    void theCredentialsAreReadFromTheVariableWhenAClientIsMadeAndSentAsBasicAuth() throws Exception {
        try (FakeRegistry registry = new FakeRegistry()) {
            RegistrySettings settings = RegistrySettings.builder()
                    .url(registry.url()).basicAuthUserInfoVariable(VARIABLE).build();
            settings.client(Map.of(VARIABLE, "telemetry:s3cret")::get).schemaById(1);
            assertEquals("Basic dGVsZW1ldHJ5OnMzY3JldA==", registry.lastAuthorization);
            settings.client(Map.<String, String>of()::get).schemaById(1);
            assertNull(registry.lastAuthorization, "the variable is unset: no credentials sent");
        }
    }

    @Test
    void whatTravelsWithTheJobNamesTheVariableNotItsValue() throws Exception {
        RegistrySettings settings = RegistrySettings.builder()
                .url("http://127.0.0.1:8085").basicAuthUserInfoVariable(VARIABLE).build();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(settings);
        }
        String shipped = bytes.toString(StandardCharsets.ISO_8859_1);
        assertTrue(shipped.contains(VARIABLE));
        assertFalse(shipped.contains("s3cret") || settings.toString().contains("s3cret"));
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(settings, in.readObject());
        }
    }
}
