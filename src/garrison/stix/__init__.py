"""STIX 2.0 indicators into the reputation store, and the TAXII 2.0 resources that take them.

``pattern`` parses the one pattern form Garrison imports (a single ``=`` comparison on a
domain name, an IPv4 or IPv6 address, or a URL); ``labels`` reads severity, confidence and
``benign`` from an indicator's labels; ``bundle`` turns a bundle into one decision per
object (import, revoke, skip, fail); ``importer`` carries the decisions out through
`garrison.reputation.service.ReputationService`; ``resources`` and ``status`` are the
TAXII JSON shapes and the in-memory status resources. All but ``importer`` are pure.
The HTTP side is `garrison.webservices.taxii`.
"""
