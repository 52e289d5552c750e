package dev.telemetry.flink.lake;

import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.flink.CatalogLoader;
import org.apache.iceberg.flink.TableLoader;

/** A loader of one table of the job's catalog, from the options its CREATE CATALOG takes. */
public final class TableLoaders {

  private TableLoaders() {}

  /**
   * @param catalogOptions the Flink catalog's options ({@code catalog-impl} and the catalog's own
   *     properties; {@code type} is Flink's and is dropped)
   */
  public static TableLoader of(
      String catalogName, Map<String, String> catalogOptions, String namespace, String table) {
    Map<String, String> options = new HashMap<>(catalogOptions);
    String impl = options.remove("catalog-impl");
    options.remove("type");
    CatalogLoader catalog = CatalogLoader.custom(catalogName, options, new Configuration(), impl);
    return TableLoader.fromCatalog(catalog, TableIdentifier.of(namespace, table));
  }
}
