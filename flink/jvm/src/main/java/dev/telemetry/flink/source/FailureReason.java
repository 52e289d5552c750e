package dev.telemetry.flink.source;

import java.util.Locale;

/**
 * Why a Kafka record could not be decoded. Every error text in the {@code error} column starts
 * with {@link #code()} and a colon (for example {@code "unknown-schema: schema id 7 is not in the
 * registry"}), so a job can count and route dead letters by reason without parsing prose.
 */
public enum FailureReason {
    /** Empty value, or the first byte is not the Confluent magic byte 0x00. */
    BAD_MAGIC,
    /** The registry answered "schema not found" for the record's schema id. */
    UNKNOWN_SCHEMA,
    /** The writer schema exists but cannot be read with the reader schema (or is not Avro). */
    INCOMPATIBLE_SCHEMA,
    /** Header cut short, or the Avro body is truncated, malformed, or followed by extra bytes. */
    CORRUPT,
    /** The record has no value (a tombstone). */
    NULL_VALUE;

    /** The stable prefix of the error text, e.g. {@code bad-magic}. */
    public String code() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The name of this reason's counter, e.g. {@code telemetryFailed_bad_magic}. */
    public String metricName() {
        return "telemetryFailed_" + name().toLowerCase(Locale.ROOT);
    }

    /** {@code "<code>: <detail>"}, on one line. */
    String message(String detail) {
        return code() + ": " + detail;
    }
}
