"""The catalog: what the fleet runs and reports, as the SMS's dictionary tables describe it.

Signatures (SIGNATURE), action sets (ACTIONSET), profiles (PROFILE), segment groups
(SEGMENT_GROUP), the devices' physical segments (SEGMENT) and virtual segments
(VIRTUAL_SEGMENT). `defaults` holds what every SMS ships with; `learner` adds what the
fleet's events show. The rows live in `garrison.store.catalog`.
"""
