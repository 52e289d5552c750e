package dev.telemetry.flink.registry;

import java.io.Serializable;
import java.net.URI;
import java.util.function.UnaryOperator;

/**
 * Where a Confluent-compatible schema registry is and how to reach it: its URL, the CA that signed
 * its certificate, and the name of the environment variable that holds its basic-auth credentials.
 *
 * <p>The credentials themselves are never held here. The settings travel with the job graph (Java
 * serialization) and appear in its logs; the variable is read where the registry is called ({@link
 * #client()}, on the TaskManager), so {@code user:password} is in no job graph, argument or log.
 *
 * <pre>{@code
 * RegistrySettings.builder()
 *     .url("https://registry:8085/apis/ccompat/v7")
 *     .caLocation("/etc/telemetry/ca.pem")
 *     .basicAuthUserInfoVariable("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO")
 *     .build();
 * }</pre>
 */
public record RegistrySettings(String url, String caLocation, String basicAuthUserInfoVariable)
        implements Serializable {

    /**
     * @throws IllegalArgumentException if {@code url} is not http(s)://host[...]
     */
    public RegistrySettings {
        url = checkUrl(url);
        caLocation = blankToNull(caLocation);
        basicAuthUserInfoVariable = blankToNull(basicAuthUserInfoVariable);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * A client with the defaults ({@link SchemaRegistryClient#withDefaults}), its credentials read
     * now from {@link #basicAuthUserInfoVariable()} (unset: no authentication).
     */
    public SchemaRegistryClient client() {
        return client(System::getenv);
    }

    /** As {@link #client()}, reading variables from {@code environment} (for tests). */
    SchemaRegistryClient client(UnaryOperator<String> environment) {
        String userInfo = basicAuthUserInfoVariable == null ? null : environment.apply(basicAuthUserInfoVariable);
        return SchemaRegistryClient.withDefaults(url, caLocation, userInfo);
    }

    /** Named setters for {@link RegistrySettings}; only the URL is required. */
    public static final class Builder {
        private String url;
        private String caLocation;
        private String basicAuthUserInfoVariable;

        private Builder() {}

        /** Base URL of the registry's Confluent API, e.g. {@code http://127.0.0.1:8085/apis/ccompat/v7}. */
        public Builder url(String url) {
            this.url = url;
            return this;
        }

        /** A PEM file of the CA that signed an https registry's certificate (null: the JVM's trust store). */
        public Builder caLocation(String caLocation) {
            this.caLocation = caLocation;
            return this;
        }

        /**
         * The name of the environment variable holding {@code user:password} (Confluent's {@code
         * basic.auth.user.info}), never the credentials (null, or an unset variable: no authentication).
         */
        public Builder basicAuthUserInfoVariable(String variable) {
            this.basicAuthUserInfoVariable = variable;
            return this;
        }

        public RegistrySettings build() {
            return new RegistrySettings(url, caLocation, basicAuthUserInfoVariable);
        }
    }

    private static String checkUrl(String url) {
        URI uri;
        try {
            uri = URI.create(url == null ? "" : url.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("schema registry URL '" + url + "' is not a URL", e);
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("schema registry URL '" + url
                    + "' must be http(s)://host[:port][/path], e.g. http://127.0.0.1:8085/apis/ccompat/v7");
        }
        return url.strip();
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
