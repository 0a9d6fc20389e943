"""Vulnerability scans (the SMS's eVR): imported from the SMS-Standard CSV or converted from
Nessus, Qualys and Nexpose files, kept in the store, and queried by address, CVE,
severity and scan.

``model`` holds a finding's rules; ``native_csv`` reads and writes the SMS-Standard CSV;
``nessus``, ``qualys`` and ``nexpose`` turn a vendor's file into findings (``xmlsource``
reads their XML safely, with line numbers); ``service`` is the capability-checked,
audited API over `garrison.store.vulnerabilities`. All but ``service`` are pure.
"""
