"""The live timing page (`telemetry live`): the race as the Flink job commits it.

records   laps and windows off the topics, as plain values (epoch milliseconds)
display   lap times (M:SS.mmm), gaps (+1.234, +2 L) and a window's numbers as shown
tower     the timing tower: order, last and best laps, the overall best, gaps
cars      per car: the latest window and a speed trace of the last minutes
board     the tower and the cars together, and the updates the page applies
latency   push latency: Kafka timestamp to push, p50 / p99
feed      the windows and laps topics, read_committed, from their beginning
health    the job's state, dead letters and late events, from counters
hub       fan-out of updates to every connected page
server    the Starlette app: the page, its assets, the SSE stream
serve     the checks before serving, and uvicorn

The pure modules (records to latency) import no Kafka, HTTP or storage client.
"""
