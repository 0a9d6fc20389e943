"""SNMP pieces shared by the poller (``garrison.devices``) and the Responder's notification
sender: credentials, and pysnmp engines kept per set of credentials."""
