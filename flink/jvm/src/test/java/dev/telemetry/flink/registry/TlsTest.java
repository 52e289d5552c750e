package dev.telemetry.flink.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry's TLS: exactly the CA certificates of one PEM file, or an error naming the file. */
class TlsTest {

    /** Two self-signed CA certificates (no keys), as a bundle file holds them. */
    static final String TWO_CAS = Path.of("src/test/resources/dev/telemetry/flink/registry/two-cas.pem").toString();

    @TempDir
    Path folder;

    @Test
    void everyCertificateOfTheFileIsTrustedAndNothingElse() throws Exception {
        KeyStore store = Tls.trustStore(TWO_CAS);
        List<String> subjects = new ArrayList<>();
        for (String alias : Collections.list(store.aliases())) {
            subjects.add(((X509Certificate) store.getCertificate(alias)).getSubjectX500Principal().getName());
        }
        Collections.sort(subjects);
        assertEquals(List.of("CN=telemetry test CA one", "CN=telemetry test CA two"), subjects);
        assertEquals("TLS", Tls.trusting(TWO_CAS).getProtocol());
    }

    @Test
    void aFileWithoutCertificatesIsRefusedNamingIt() throws IOException {
        Path empty = Files.writeString(folder.resolve("empty.pem"), "not a certificate\n");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Tls.trusting(empty.toString()));
        assertTrue(e.getMessage().contains(empty.toString()), e.getMessage());
    }

    @Test
    void aMissingFileIsAnErrorNamingIt() {
        String missing = folder.resolve("missing.pem").toString();
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> Tls.trusting(missing));
        assertTrue(e.getMessage().contains(missing), e.getMessage());
    }
}
