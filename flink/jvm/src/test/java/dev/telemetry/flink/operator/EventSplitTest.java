package dev.telemetry.flink.operator;

import static dev.telemetry.flink.operator.WindowPartialsTest.EVENTS;
import static dev.telemetry.flink.operator.WindowPartialsTest.T0;
import static dev.telemetry.flink.operator.WindowPartialsTest.WINDOW;
import static dev.telemetry.flink.operator.WindowPartialsTest.event;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.dag.Transformation;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.transformations.OneInputTransformation;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.util.OutputTag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The split in Flink's operator harness: what goes where, and when the partials leave. */
class EventSplitTest {

    final OutputTag<RowData> late = new OutputTag<>("late-events", InternalTypeInfo.of(EventSplit.lateType(EVENTS)));
    final OutputTag<RowData> errors = new OutputTag<>("dead-letters", InternalTypeInfo.of(EVENTS));
    OneInputStreamOperatorTestHarness<RowData, RowData> harness;
    boolean closed;

    @BeforeEach
    void open() throws Exception {
        harness = new OneInputStreamOperatorTestHarness<>(new EventSplit(EVENTS, WINDOW, late, errors));
        harness.setup(InternalTypeInfo.of(WindowPartials.ROW_TYPE).createSerializer(harness.getExecutionConfig()
                .getSerializerConfig()));
        harness.open();
    }

    @AfterEach
    void close() throws Exception {
        if (!closed) {
            harness.close();
        }
    }

    /** The end of input: the task finishes the operator, and closes it. */
    void endOfInput() throws Exception {
        harness.close();
        closed = true;
    }

    static GenericRowData speed(int car, double speed) {
        return event(car, 1, speed, 10_000, 6, 50.0, 0.0, false);
    }

    static GenericRowData error(String text) {
        GenericRowData row = new GenericRowData(EVENTS.getFieldCount());
        row.setField(EVENTS.getFieldIndex("error"), StringData.fromString(text));
        return row;
    }

    /** The main output: partial rows as (car, event count, timestamp), watermarks as ("wm", ts). */
    List<String> main() {
        List<String> seen = new ArrayList<>();
        for (Object element : harness.getOutput()) {
            if (element instanceof Watermark mark) {
                seen.add("wm@" + mark.getTimestamp());
            } else if (element instanceof StreamRecord<?> record) {
                RowData row = (RowData) record.getValue();
                seen.add("car " + row.getInt(0) + " x" + row.getLong(2) + "@" + record.getTimestamp());
            }
        }
        return seen;
    }

    @Test
    void anErrorRowGoesToTheDeadLettersAsItIsWithItsTimestamp() throws Exception {
        GenericRowData bad = error("bad-magic: not Avro");
        harness.processElement(bad, 42L);
        List<StreamRecord<RowData>> letters = new ArrayList<>(harness.getSideOutput(errors));
        assertEquals(1, letters.size());
        assertEquals("bad-magic: not Avro", letters.get(0).getValue().getString(EVENTS.getFieldIndex("error")).toString());
        assertEquals(42L, letters.get(0).getTimestamp());
        assertTrue(harness.getSideOutput(late) == null || harness.getSideOutput(late).isEmpty());
        harness.prepareSnapshotPreBarrier(1);
        assertTrue(main().isEmpty(), "an error row is in no partial");
    }

    @Test
    void anEventAtOrBeforeTheWatermarkIsLateWithTheWatermarkItMissed() throws Exception {
        harness.processWatermark(new Watermark(T0 + 100));
        harness.processElement(speed(7, 120.0), T0 + 100);
        harness.processElement(speed(7, 130.0), T0 + 99);
        harness.processElement(speed(7, 140.0), T0 + 101);
        List<StreamRecord<RowData>> missed = new ArrayList<>(harness.getSideOutput(late));
        assertEquals(2, missed.size(), "at and before the watermark; the one after is on time");
        RowType lateType = EventSplit.lateType(EVENTS);
        int wm = lateType.getFieldIndex("wm");
        int speed = lateType.getFieldIndex("speed");
        for (StreamRecord<RowData> record : missed) {
            assertEquals(TimestampData.fromEpochMillis(T0 + 100), record.getValue().getTimestamp(wm, 3));
        }
        assertEquals(120.0, missed.get(0).getValue().getDouble(speed));
        assertEquals(T0 + 99, missed.get(1).getTimestamp(), "the record's own timestamp");
        endOfInput();
        assertEquals(List.of("wm@" + (T0 + 100), "car 7 x1@" + (T0 + WINDOW - 1)), main());
    }

    @Test
    void beforeAnyWatermarkNoEventIsLate() throws Exception {
        harness.processElement(speed(7, 120.0), Long.MIN_VALUE + 1);
        assertTrue(harness.getSideOutput(late) == null || harness.getSideOutput(late).isEmpty());
    }

    @Test
    void partialsLeaveWhenTheWatermarkClosesTheirWindowAheadOfIt() throws Exception {
        harness.processElement(speed(7, 100.0), T0 + 10);
        harness.processElement(speed(7, 110.0), T0 + 20);
        harness.processElement(speed(8, 90.0), T0 + WINDOW + 5); // next window
        harness.processWatermark(new Watermark(T0 + WINDOW - 2));
        assertEquals(List.of("wm@" + (T0 + WINDOW - 2)), main(), "its last millisecond not reached yet");
        harness.processWatermark(new Watermark(T0 + WINDOW - 1));
        assertEquals(List.of("wm@" + (T0 + WINDOW - 2), "car 7 x2@" + (T0 + WINDOW - 1), "wm@" + (T0 + WINDOW - 1)),
                main(), "the partial, then the watermark that closed it: on time downstream");
    }

    @Test
    void aWatermarkThatDoesNotAdvanceEmitsNothing() throws Exception {
        harness.processWatermark(new Watermark(T0 + WINDOW - 1));
        harness.processElement(speed(7, 100.0), T0 + WINDOW);
        harness.processWatermark(new Watermark(T0 + 10));
        assertEquals(List.of("wm@" + (T0 + WINDOW - 1), "wm@" + (T0 + 10)), main());
    }

    @Test
    void everyOpenPartialLeavesBeforeACheckpointBarrierSoTheOperatorHasNoState() throws Exception {
        harness.processElement(speed(7, 100.0), T0 + 10);
        harness.processElement(speed(7, 100.0), T0 + WINDOW + 10);
        harness.prepareSnapshotPreBarrier(1);
        assertEquals(List.of("car 7 x1@" + (T0 + WINDOW - 1), "car 7 x1@" + (T0 + 2 * WINDOW - 1)), main());
        assertTrue(harness.snapshot(1, 1).getManagedOperatorState().isEmpty(), "no operator state");
        harness.prepareSnapshotPreBarrier(2);
        assertEquals(2, main().size(), "emitted once");
    }

    @Test
    void theEndOfInputEmitsTheOpenPartials() throws Exception {
        harness.processElement(speed(7, 100.0), T0 + 10);
        harness.processElement(speed(9, 100.0), T0 + 10);
        endOfInput();
        List<String> seen = main();
        assertEquals(2, seen.size());
        assertTrue(seen.contains("car 7 x1@" + (T0 + WINDOW - 1)) && seen.contains("car 9 x1@" + (T0 + WINDOW - 1)));
    }

    @Test
    void theSplitsLateRuleIsSqlsRowtimeAtOrBeforeTheWatermark() {
        assertFalse(EventSplit.isLate(T0, Long.MIN_VALUE), "no watermark yet: null, never late");
        assertTrue(EventSplit.isLate(T0, T0));
        assertTrue(EventSplit.isLate(T0 - 1, T0));
        assertFalse(EventSplit.isLate(T0 + 1, T0));
    }

    @Test
    void lateRowsAreTheEventsRowWithTheWatermarkAppended() {
        RowType lateType = EventSplit.lateType(EVENTS);
        assertEquals(EVENTS.getFieldCount() + 1, lateType.getFieldCount());
        assertEquals(EVENTS.getFieldNames(), lateType.getFieldNames().subList(0, EVENTS.getFieldCount()));
        assertEquals("wm", lateType.getFieldNames().get(EVENTS.getFieldCount()));
    }

    @Test
    void applyWiresTheSplitWithItsUidAndTheThreeStreamsTypes() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        EventSplit.Streams streams = EventSplit.apply(
                env.fromData(InternalTypeInfo.of(EVENTS), (RowData) speed(1, 1.0)), EVENTS, WINDOW, "split-uid");
        Transformation<RowData> split = streams.partials().getTransformation();
        assertEquals("split-uid", split.getUid());
        assertEquals(InternalTypeInfo.of(WindowPartials.ROW_TYPE), split.getOutputType());
        assertEquals(InternalTypeInfo.of(EventSplit.lateType(EVENTS)), streams.late().getType());
        assertEquals(InternalTypeInfo.of(EVENTS), streams.errors().getType());
        assertInstanceOf(EventSplit.class, ((OneInputTransformation<?, ?>) split).getOperator());
    }

    @Test
    void refusesRowsWithoutAnErrorField() {
        RowType noError = RowType.of(WindowPartials.ROW_TYPE.getChildren().toArray(new LogicalType[0]));
        assertThrows(IllegalArgumentException.class, () -> new EventSplit(noError, WINDOW, late, errors));
    }
}
