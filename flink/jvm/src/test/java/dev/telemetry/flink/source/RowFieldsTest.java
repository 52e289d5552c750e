package dev.telemetry.flink.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.flink.table.types.logical.DoubleType;
import org.apache.flink.table.types.logical.IntType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.VarCharType;
import org.junit.jupiter.api.Test;

/** Fields found by name in the decoder's rows, with the type the reader expects. */
class RowFieldsTest {

    static final RowType ROWS = RowType.of(
            new LogicalType[] {new IntType(), new DoubleType(), VarCharType.STRING_TYPE},
            new String[] {"car_id", "timestamp", "error"});

    @Test
    void aFieldIsFoundByNameAtItsPosition() {
        assertEquals(0, RowFields.position(ROWS, "car_id", LogicalTypeRoot.INTEGER));
        assertEquals(1, RowFields.position(ROWS, "timestamp", LogicalTypeRoot.DOUBLE));
        assertEquals(2, RowFields.position(ROWS, "error", LogicalTypeRoot.VARCHAR));
    }

    @Test
    void aMissingFieldIsRefusedNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RowFields.position(ROWS, "lap", LogicalTypeRoot.INTEGER));
        assertTrue(e.getMessage().startsWith("the rows have no field 'lap'"), e.getMessage());
    }

    @Test
    void aFieldOfAnotherTypeIsRefusedNamingBoth() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RowFields.position(ROWS, "timestamp", LogicalTypeRoot.BIGINT));
        assertTrue(e.getMessage().startsWith("field 'timestamp' must be BIGINT, not DOUBLE"), e.getMessage());
    }
}
