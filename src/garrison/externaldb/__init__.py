"""External database access: the SMS's read-only ``ExternalAccess`` database of views
(ALERTS, DEVICE, SIGNATURE, ...) over Garrison's tables, for Garrison on MariaDB or
PostgreSQL. `views` compiles the views from `garrison.datatables`; `manage` enables,
refreshes and disables them and their read-only user; docs/external-database.md is the
user's guide.
"""
