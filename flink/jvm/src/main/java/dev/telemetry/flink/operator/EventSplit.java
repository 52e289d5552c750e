package dev.telemetry.flink.operator;

import dev.telemetry.flink.source.RowFields;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.data.utils.JoinedRowData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.util.OutputTag;

/**
 * The split of the decoded events, chained to the source: an undecodable record goes to the
 * dead letters, an event at or before the watermark to the late events, and every other event into
 * its car's, lap's and window's partial aggregate ({@link WindowPartials}), the main output.
 *
 * <p>An event is late when the watermark it meets here is not null and not before it: SQL's {@code
 * rowtime <= CURRENT_WATERMARK(rowtime)}. The split and the partials see one watermark, so an event
 * is either late or in a window that is still open.
 *
 * <p>No state: the open partials are emitted before every checkpoint barrier (so the checkpoint
 * holds them downstream, where SQL merges a window's rows) and at the end of input.
 *
 * <p>Late rows are the event's row with the watermark it missed appended as {@code wm
 * TIMESTAMP_LTZ(3)}; dead-letter rows are the decoder's error rows as they are. Both keep the
 * record's timestamp.
 */
public final class EventSplit extends AbstractStreamOperator<RowData>
        implements OneInputStreamOperator<RowData, RowData> {

    private static final long serialVersionUID = 1L;
    static final String ERROR_FIELD = "error";
    static final String WATERMARK_COLUMN = "wm";

    /** The split's three streams. */
    public record Streams(DataStream<RowData> partials, DataStream<RowData> late, DataStream<RowData> errors) {}

    private final RowType events;
    private final long windowMillis;
    private final int errorPos;
    private final OutputTag<RowData> lateTag;
    private final OutputTag<RowData> errorTag;

    private transient WindowPartials partials;
    private transient long watermark;
    private transient StreamRecord<RowData> emitted;
    private transient WindowPartials.Emitter emitter;

    EventSplit(RowType events, long windowMillis, OutputTag<RowData> lateTag, OutputTag<RowData> errorTag) {
        this.events = events;
        this.windowMillis = windowMillis;
        this.errorPos = RowFields.position(events, ERROR_FIELD, LogicalTypeRoot.VARCHAR);
        this.lateTag = lateTag;
        this.errorTag = errorTag;
        new WindowPartials(events, windowMillis); // checks the fields now, not on a TaskManager
    }

    /**
     * Appends the split to {@code decoded} (rows of {@code events}' type, timestamps assigned).
     *
     * @param uid the operator's uid
     */
    public static Streams apply(DataStream<RowData> decoded, RowType events, long windowMillis, String uid) {
        OutputTag<RowData> late = new OutputTag<>("late-events", InternalTypeInfo.of(lateType(events)));
        OutputTag<RowData> errors = new OutputTag<>("dead-letters", InternalTypeInfo.of(events));
        SingleOutputStreamOperator<RowData> split = decoded.transform(
                "split: window partials, late events, dead letters",
                InternalTypeInfo.of(WindowPartials.ROW_TYPE),
                new EventSplit(events, windowMillis, late, errors));
        split.uid(uid);
        return new Streams(split, split.getSideOutput(late), split.getSideOutput(errors));
    }

    /** The late rows' type: the events' fields, then {@code wm TIMESTAMP_LTZ(3)}. */
    public static RowType lateType(RowType events) {
        List<LogicalType> types = new ArrayList<>(events.getChildren());
        List<String> names = new ArrayList<>(events.getFieldNames());
        types.add(new LocalZonedTimestampType(false, 3));
        names.add(WATERMARK_COLUMN);
        return RowType.of(types.toArray(new LogicalType[0]), names.toArray(new String[0]));
    }

    /** SQL's {@code rowtime <= CURRENT_WATERMARK(rowtime)}, where no watermark yet is null. */
    static boolean isLate(long timestamp, long watermark) {
        return watermark != Long.MIN_VALUE && timestamp <= watermark;
    }

    @Override
    public void open() throws Exception {
        super.open();
        partials = new WindowPartials(events, windowMillis);
        watermark = Long.MIN_VALUE;
        emitted = new StreamRecord<>(null);
        emitter = (row, timestamp) -> output.collect(emitted.replace(row, timestamp));
    }

    @Override
    public void processElement(StreamRecord<RowData> element) {
        RowData row = element.getValue();
        if (!row.isNullAt(errorPos)) {
            output.collect(errorTag, element);
        } else if (isLate(element.getTimestamp(), watermark)) {
            GenericRowData missed = GenericRowData.of(TimestampData.fromEpochMillis(watermark));
            output.collect(lateTag, element.replace(new JoinedRowData(row, missed)));
        } else {
            partials.add(row, element.getTimestamp());
        }
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        if (mark.getTimestamp() > watermark) {
            watermark = mark.getTimestamp();
            partials.emitClosed(watermark, emitter); // before the watermark: on time downstream
        }
        super.processWatermark(mark);
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        partials.emitAll(emitter);
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    @Override
    public void finish() throws Exception {
        partials.emitAll(emitter);
        super.finish();
    }
}
