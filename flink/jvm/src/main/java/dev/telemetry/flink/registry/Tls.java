package dev.telemetry.flink.registry;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** TLS for the JVM's HTTP clients: trust the CA certificates of one PEM file. */
final class Tls {

    private Tls() {}

    /** An SSL context that trusts exactly the certificates in the PEM file {@code caLocation}. */
    static SSLContext trusting(String caLocation) {
        try {
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(trustStore(caLocation));
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, factory.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot use the CA file " + caLocation + ": " + e.getMessage(), e);
        }
    }

    /** The certificates of the PEM file {@code caLocation}, as a trust store. */
    static KeyStore trustStore(String caLocation) {
        try (InputStream in = Files.newInputStream(Path.of(caLocation))) {
            KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
            trusted.load(null, null);
            int i = 0;
            for (Certificate certificate : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trusted.setCertificateEntry("ca-" + i++, certificate);
            }
            if (i == 0) {
                throw new IllegalArgumentException(caLocation + " holds no PEM certificate");
            }
            return trusted;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the CA file " + caLocation, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot use the CA file " + caLocation + ": " + e.getMessage(), e);
        }
    }
}
