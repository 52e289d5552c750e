"""Operations: what runs the pipeline rather than what the pipeline runs.

Bottom to top (import-linter holds it, pyproject.toml):
- `host`: this machine's facts: pinned versions, the cache and data layout, processes, the JDK;
- `jobs`: the Flink job's submission, state and retained checkpoints;
- `stack`: the local servers: setup, start, stop, the supervisor;
- `pipeline`, `live`, `kafkaperf`: a whole run, the live page, the perf tools.
"""
