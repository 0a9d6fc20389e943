"""The SMS's data tables (ALERTS, DEVICE, SIGNATURE, QUARANTINE_HOSTS, ...) served from
Garrison's own tables: definitions (`model`, one module per group of tables, `registry`),
the reader that pages through them (`reader`), and the answer formats (`formats`,
`schema`). The data-access Web service (`garrison.webservices.dbaccess`) serves them; an
external database's views are the same definitions compiled for MariaDB or PostgreSQL.
"""
