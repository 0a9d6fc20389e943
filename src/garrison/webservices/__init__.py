"""The SMS-compatible Web services: the servlet-style API (``/<service>/<method>``, text,
CSV and XML answers) that TippingPoint SMS scripts and integrations call on the HTTPS port,
served over Garrison's own services. ``app`` serves and audits the calls, ``paths`` and
``params`` make sloppy requests plain, ``auth`` checks credentials, ``responses`` holds the
answer shapes, and one module a service holds its methods (``quarantine``).

docs/webservices.md describes the API as Garrison serves it.
"""
