package dev.telemetry.flink.lake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.flink.TableLoader;
import org.apache.iceberg.inmemory.InMemoryCatalog;
import org.apache.iceberg.inmemory.InMemoryFileIO;
import org.apache.iceberg.io.SupportsBulkOperations;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;

/** A loader from the options the job's CREATE CATALOG takes, as Iceberg's catalog gets them. */
class TableLoadersTest {

    /** Holds one table, lake.windows, and remembers the properties it was initialized with. */
    public static final class OneTableCatalog extends InMemoryCatalog {
        static final AtomicReference<Map<String, String>> PROPERTIES = new AtomicReference<>();

        @Override
        public void initialize(String name, Map<String, String> properties) {
            super.initialize(name, properties);
            PROPERTIES.set(properties);
            createNamespace(Namespace.of("lake"));
            createTable(TableIdentifier.of("lake", "windows"),
                    new Schema(Types.NestedField.required(1, "car_id", Types.IntegerType.get())));
        }
    }

    /** Files in memory that can be deleted in bulk, as Iceberg's orphan cleanup wants (S3FileIO can). */
    public static final class BulkInMemoryFileIO extends InMemoryFileIO implements SupportsBulkOperations {
        @Override
        public void deleteFiles(Iterable<String> paths) {
            paths.forEach(this::deleteFile);
        }
    }

    /** The options of the job's CREATE CATALOG, with this catalog and file IO. */
    static Map<String, String> options() {
        return Map.of("type", "iceberg", "catalog-impl", OneTableCatalog.class.getName(),
                "io-impl", BulkInMemoryFileIO.class.getName(), "warehouse", "memory://w");
    }

    @Test
    void theLoaderOpensTheCatalogImplementationAndLoadsTheTable() throws Exception {
        try (TableLoader loader = TableLoaders.of("telemetry", options(), "lake", "windows")) {
            loader.open();
            Table table = loader.loadTable();
            assertTrue(table.name().endsWith("lake.windows"), table.name());
        }
    }

    @Test
    void flinksOwnOptionsAreNotTheCatalogs() throws Exception {
        try (TableLoader loader = TableLoaders.of("telemetry", options(), "lake", "windows")) {
            loader.open();
            loader.loadTable();
        }
        Map<String, String> seen = OneTableCatalog.PROPERTIES.get();
        assertEquals("memory://w", seen.get("warehouse"));
        assertFalse(seen.containsKey("type"), "Flink's `type` is dropped");
        assertFalse(seen.containsKey("catalog-impl"), "the implementation is the loader's, not a property");
    }
}
