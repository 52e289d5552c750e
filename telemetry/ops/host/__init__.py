"""This machine's facts the operations share: versions, paths, processes, the JDK."""
