"""External access on PostgreSQL: a schema of views (``externalaccess``) in Garrison's
database, and a LOGIN role with USAGE on that schema and SELECT on its views alone.

A PostgreSQL view runs with its owner's rights (Garrison's user), so the role needs no
right on Garrison's tables. The role's search path in this database is the schema, so
``SELECT * FROM alerts`` finds the view, and its transactions are read-only by default.
The password goes to the server only as its SCRAM-SHA-256 verifier, made by libpq on
this side, so it is in no statement log. Which hosts may connect is pg_hba.conf's to
say, not SQL's: `host_lines` gives the lines to add. Everything happens in the one
transaction the caller holds, so a refresh is never seen half done.
"""

from __future__ import annotations

import re
from typing import Any

from garrison.errors import Conflict, Invalid
from garrison.externaldb.runner import Runner
from garrison.externaldb.views import POSTGRESQL, View

# An address or CIDR block for pg_hba.conf.
HOST = re.compile(r"^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$")


def hint(container: str) -> str:
    return (
        "Garrison's database user needs CREATEROLE (ALTER ROLE <user> CREATEROLE) and "
        "CREATE on its database (GRANT CREATE ON DATABASE <db> TO <user>) "
        "(docs/external-database.md)"
    )


def host_lines(database: str, user: str, hosts: list[str]) -> list[str]:
    """The pg_hba.conf lines that let ``user`` in from ``hosts`` (addresses or CIDRs)."""
    return [f"host  {database}  {user}  {host}  scram-sha-256" for host in hosts]


class PostgreSQLAccess:
    backend = POSTGRESQL

    def __init__(self, runner: Runner, container: str) -> None:
        self.sql = runner
        self.container = container
        self.quote = runner.conn.dialect.identifier_preparer.quote
        self.quoted = self.quote(container)

    def check_server(self) -> None:
        pass

    def source(self) -> str:
        return str(self.sql.value("SELECT current_schema()"))

    def database(self) -> str:
        return str(self.sql.value("SELECT current_database()"))

    # -- the views -------------------------------------------------------------------------

    def container_exists(self) -> bool:
        return bool(
            self.sql.value(
                "SELECT COUNT(*) FROM pg_namespace WHERE nspname = :name", name=self.container
            )
        )

    def views(self) -> dict[str, tuple[str, ...]]:
        """The views now in the schema, each with its columns in order."""
        return self.sql.grouped(
            "SELECT c.relname, a.attname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
            "AND NOT a.attisdropped "
            "WHERE n.nspname = :name AND c.relkind = 'v' ORDER BY c.relname, a.attnum",
            name=self.container,
        )

    def _readers(self) -> list[str]:
        """The roles that may SELECT from the schema's views now (to grant them again)."""
        rows = self.sql.rows(
            "SELECT DISTINCT grantee FROM information_schema.role_table_grants "
            "WHERE table_schema = :name AND privilege_type = 'SELECT' "
            "AND grantee <> current_user",
            name=self.container,
        )
        return sorted(str(grantee) for (grantee,) in rows)

    def install(self, views: list[View]) -> None:
        """Drop every view and create them again (PostgreSQL's CREATE OR REPLACE cannot
        rename or drop a column), then give their readers SELECT again."""
        self.sql.run(f"CREATE SCHEMA IF NOT EXISTS {self.quoted}")
        readers = self._readers()
        for old in sorted(self.views()):
            self.sql.run(f"DROP VIEW IF EXISTS {self.quoted}.{self.quote(old)}")
        for view in views:
            self.sql.run(view.create)
        for reader in readers:
            self.sql.run(
                f"GRANT SELECT ON ALL TABLES IN SCHEMA {self.quoted} TO {self.quote(reader)}"
            )

    def remove(self) -> list[str]:
        if not self.container_exists():
            return []
        for name in sorted(self.views()):
            self.sql.run(f"DROP VIEW IF EXISTS {self.quoted}.{self.quote(name)}")
        others = self.sql.value(
            "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :name",
            name=self.container,
        )
        if others:
            return [f"schema {self.container} keeps {others} objects not made by Garrison"]
        self.sql.run(f"DROP SCHEMA {self.quoted}")
        return []

    # -- the reader role -------------------------------------------------------------------

    def _role(self, user: str) -> dict[str, Any] | None:
        rows = self.sql.rows(
            "SELECT r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication "
            "OR r.rolbypassrls, r.rolname = current_user, "
            "EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid), "
            "EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid) "
            "FROM pg_roles r WHERE r.rolname = :user",
            user=user,
        )
        if not rows:
            return None
        powerful, is_self, member, owner = rows[0]
        return {"powerful": powerful, "self": is_self, "member": member, "owner": owner}

    def _check_ours(self, user: str) -> None:
        role = self._role(user)
        if role is not None and any(role.values()):
            raise Conflict(
                f"the PostgreSQL role {user} exists with other rights (it owns objects, "
                "belongs to roles or may create); external access will not take it over: "
                "choose another user name"
            )

    def _verifier(self, user: str, password: str) -> str:
        # libpq's own SCRAM-SHA-256 verifier: the server never sees the password.
        pgconn = self.sql.conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
        made = pgconn.encrypt_password(password.encode(), user.encode(), b"scram-sha-256")
        return bytes(made).decode("ascii")

    def grant(self, user: str, password: str, hosts: list[str] | None) -> list[str]:
        self._check_ours(user)
        role = self.quote(user)
        verifier = self._verifier(user, password).replace("'", "''")
        verb = "ALTER" if self._role(user) is not None else "CREATE"
        self.sql.run(f"{verb} ROLE {role} WITH LOGIN PASSWORD '{verifier}'")
        database = self.quote(self.database())
        # Every role may connect unless the site took CONNECT from PUBLIC; only then is
        # a grant needed (and Garrison's user must own the database to give it).
        if not self.sql.value(
            "SELECT has_database_privilege(:user, current_database(), 'CONNECT')", user=user
        ):
            self.sql.run(f"GRANT CONNECT ON DATABASE {database} TO {role}")
        self.sql.run(f"GRANT USAGE ON SCHEMA {self.quoted} TO {role}")
        self.sql.run(f"GRANT SELECT ON ALL TABLES IN SCHEMA {self.quoted} TO {role}")
        self.sql.run(f"ALTER ROLE {role} IN DATABASE {database} SET search_path = {self.quoted}")
        self.sql.run(
            f"ALTER ROLE {role} IN DATABASE {database} SET default_transaction_read_only = on"
        )
        return [user]

    def revoke(self, user: str, hosts: list[str] | None) -> list[str]:
        if self._role(user) is None:
            return []
        self._check_ours(user)
        role = self.quote(user)
        database = self.quote(self.database())
        if self.container_exists():
            self.sql.run(f"REVOKE ALL ON ALL TABLES IN SCHEMA {self.quoted} FROM {role}")
            self.sql.run(f"REVOKE ALL ON SCHEMA {self.quoted} FROM {role}")
        self.sql.run(f"REVOKE ALL ON DATABASE {database} FROM {role}")
        self.sql.run(f"ALTER ROLE {role} IN DATABASE {database} RESET ALL")
        self.sql.run(f"DROP ROLE {role}")
        return [user]

    def accounts(self, user: str) -> list[str] | None:
        return [user] if self._role(user) is not None else []

    def host_notes(self, user: str, hosts: list[str] | None) -> list[str]:
        """pg_hba.conf, not SQL, says which hosts may connect: the lines to add there."""
        if not hosts or hosts == ["%"]:
            return []
        for host in hosts:
            if not HOST.match(host):
                raise Invalid(f"allowed host {host!r}: use an address or a CIDR block")
        return [
            "PostgreSQL decides which hosts may connect in pg_hba.conf: add these lines "
            "(before any broader rule) and reload PostgreSQL:",
            *host_lines(self.database(), user, hosts),
        ]
