"""Dead letters: records the job could not decode, kept with why and where they came from.

headers  the header names (Kafka Connect's `__connect.errors.*`, plus ours)
letters  read and select dead letters from the dead-letter topic
replay   re-produce selected ones to the source topic, exactly once
"""
