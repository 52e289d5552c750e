package dev.telemetry.flink.source;

import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;

/** Positions of named fields in the decoder's rows, checked against the type they must have. */
public final class RowFields {

    private RowFields() {}

    /**
     * The position of {@code field} in {@code rowType}.
     *
     * @throws IllegalArgumentException if there is no such field or it has another type
     */
    public static int position(RowType rowType, String field, LogicalTypeRoot root) {
        int pos = rowType.getFieldIndex(field);
        if (pos < 0) {
            throw new IllegalArgumentException("the rows have no field '" + field + "': " + rowType);
        }
        LogicalTypeRoot actual = rowType.getTypeAt(pos).getTypeRoot();
        if (actual != root) {
            throw new IllegalArgumentException(
                    "field '" + field + "' must be " + root + ", not " + actual + ": " + rowType);
        }
        return pos;
    }
}
