"""External access on MariaDB: a database of views (``ExternalAccess``) beside Garrison's,
and reader accounts ``'user'@'host'`` with SELECT on that database alone.

The views are ``SQL SECURITY DEFINER`` with Garrison's user as definer, so a reader needs
no right on Garrison's tables. The password goes to the server only as its
``mysql_native_password`` hash (``IDENTIFIED BY PASSWORD '*...'``), so it is in no
statement log. An account that exists with any other privilege is not Garrison's to
change or drop (`Conflict`): someone chose a name already in use.
"""

from __future__ import annotations

import hashlib
import re

from garrison.errors import Conflict, Invalid
from garrison.externaldb.runner import ExternalAccessError, Runner
from garrison.externaldb.views import MARIADB, Unsupported, View

# A MariaDB host pattern: a name, an address, % and _ wildcards, an address/netmask.
HOST = re.compile(r"^[A-Za-z0-9.%_:/-]{1,255}$")
DEFAULT_HOSTS = ("%",)


def hint(container: str) -> str:
    return (
        "Garrison's database user needs: GRANT CREATE USER ON *.* TO <user>; "
        f"GRANT ALL PRIVILEGES ON `{grant_pattern(container)}`.* TO <user> WITH GRANT OPTION "
        "(docs/external-database.md)"
    )


def native_password(password: str) -> str:
    """The ``mysql_native_password`` hash of ``password``: ``*`` and SHA1(SHA1(pw))."""
    # SHA1 because that is the format MariaDB stores and compares, not by choice.
    inner = hashlib.sha1(password.encode("utf-8")).digest()
    return "*" + hashlib.sha1(inner).hexdigest().upper()


def checked_host(host: str) -> str:
    if not HOST.match(host):
        raise Invalid(f"allowed host {host!r}: use a host name, an address, % or a/netmask")
    return host


def account(user: str, host: str) -> str:
    # user and host are checked names: no quote can be in them.
    return f"'{user}'@'{host}'"


def grant_pattern(container: str) -> str:
    """The database in a GRANT: ``_`` is a wildcard there, ``\\_`` the character."""
    return container.replace("_", "\\_")


class MariaDBAccess:
    backend = MARIADB

    def __init__(self, runner: Runner, container: str) -> None:
        self.sql = runner
        self.container = container
        self.quoted = f"`{container}`"

    def check_server(self) -> None:
        """MariaDB, and a Garrison user that may create users: checked before anything is
        made, as MariaDB cannot take back half of it (its DDL commits at once)."""
        if not getattr(self.sql.conn.dialect, "is_mariadb", False):
            raise Unsupported("external database access on this backend needs MariaDB, not MySQL")
        global_grants = [
            grant.split(" ON ")[0]
            for grant in self.grants_of_garrison()
            if re.search(r" ON \*\.\* TO ", grant)
        ]
        if not any(p in g for g in global_grants for p in ("ALL PRIVILEGES", "CREATE USER")):
            raise ExternalAccessError(
                f"Garrison's database user may not create users. {hint(self.container)}"
            )

    def grants_of_garrison(self) -> list[str]:
        return [str(row[0]) for row in self.sql.rows("SHOW GRANTS")]

    def source(self) -> str:
        found = self.sql.value("SELECT DATABASE()")
        if not found:
            raise Invalid("Garrison's database URL names no database")
        return str(found)

    # -- the views -------------------------------------------------------------------------

    def container_exists(self) -> bool:
        return bool(
            self.sql.value(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :name",
                name=self.container,
            )
        )

    def views(self) -> dict[str, tuple[str, ...]]:
        """The views now in the database, each with its columns in order."""
        return self.sql.grouped(
            "SELECT v.TABLE_NAME, c.COLUMN_NAME FROM information_schema.VIEWS v "
            "LEFT JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = v.TABLE_SCHEMA "
            "AND c.TABLE_NAME = v.TABLE_NAME WHERE v.TABLE_SCHEMA = :name "
            "ORDER BY v.TABLE_NAME, c.ORDINAL_POSITION",
            name=self.container,
        )

    def install(self, views: list[View]) -> None:
        """Create or replace every view; drop the views of an older Garrison that are no
        longer made. Grants are on the database, so they hold across."""
        self.sql.run(f"CREATE DATABASE IF NOT EXISTS {self.quoted} CHARACTER SET utf8mb4")
        wanted = {v.name for v in views}
        for old in sorted(set(self.views()) - wanted):
            self.sql.run(f"DROP VIEW IF EXISTS {self.quoted}.`{old}`")
        for view in views:
            self.sql.run(view.create)

    def remove(self) -> list[str]:
        """Drop the views, then the database unless something else is kept in it."""
        if not self.container_exists():
            return []
        for name in sorted(self.views()):
            self.sql.run(f"DROP VIEW IF EXISTS {self.quoted}.`{name}`")
        others = self.sql.value(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = :name",
            name=self.container,
        )
        if others:
            return [f"database {self.container} keeps {others} tables not made by Garrison"]
        self.sql.run(f"DROP DATABASE IF EXISTS {self.quoted}")
        return []

    # -- the reader accounts ---------------------------------------------------------------

    def hosts(self, user: str) -> list[str] | None:
        """The hosts ``user`` has an account for; None when Garrison may not look."""
        try:
            rows = self.sql.rows("SELECT Host FROM mysql.user WHERE User = :user", user=user)
        except ExternalAccessError:  # no SELECT on mysql.user
            return None
        return sorted(str(host) for (host,) in rows)

    def _is_ours(self, grant: str) -> bool:
        pattern = re.escape(grant_pattern(self.container))
        plain = re.escape(self.container)
        return bool(
            re.match(r"^GRANT USAGE ON \*\.\* TO ", grant)
            or re.match(rf"^GRANT SELECT ON `({pattern}|{plain})`\.\* TO ", grant)
        )

    def grants(self, user: str, host: str) -> list[str]:
        """The grants of an account that exists (Garrison may read the grant tables)."""
        return [str(row[0]) for row in self.sql.rows(f"SHOW GRANTS FOR {account(user, host)}")]

    def _check_ours(self, user: str, host: str) -> None:
        others = [g for g in self.grants(user, host) if not self._is_ours(g)]
        if others:
            raise Conflict(
                f"the MariaDB account {account(user, host)} exists with other privileges "
                f"({others[0].split(' TO ')[0]}); external access will not take it over: "
                "choose another user name"
            )

    def grant(self, user: str, password: str, hosts: list[str]) -> list[str]:
        """Make ``user`` at exactly ``hosts`` a reader of the views; its accounts at other
        hosts (from an earlier enable) are dropped. Where Garrison may not read the
        grant tables it can neither check nor list the accounts: it sets these alone."""
        existing = self.hosts(user) or []
        stale = sorted(set(existing) - set(hosts))
        for host in sorted(set(existing) & set(hosts)) + stale:
            self._check_ours(user, host)
        secret = native_password(password)
        for host in hosts:
            who = account(user, host)
            self.sql.run(f"CREATE USER IF NOT EXISTS {who} IDENTIFIED BY PASSWORD '{secret}'")
            self.sql.run(f"ALTER USER {who} IDENTIFIED BY PASSWORD '{secret}'")
            self.sql.run(f"GRANT SELECT ON `{grant_pattern(self.container)}`.* TO {who}")
        for host in stale:
            self.sql.run(f"DROP USER IF EXISTS {account(user, host)}")
        return [account(user, host) for host in hosts]

    def revoke(self, user: str, hosts: list[str] | None) -> list[str]:
        """Drop ``user``'s accounts at ``hosts``, default every one; where Garrison may
        not list them, the ones at ``hosts``, default ``%``."""
        existing = self.hosts(user)
        if existing is None:
            chosen = hosts or list(DEFAULT_HOSTS)
        else:
            chosen = [h for h in hosts or existing if h in existing]
            for host in chosen:
                self._check_ours(user, host)
        for host in chosen:
            self.sql.run(f"DROP USER IF EXISTS {account(user, host)}")
        return [account(user, host) for host in chosen]

    def host_notes(self, user: str, hosts: list[str] | None) -> list[str]:
        for host in hosts or ():
            checked_host(host)
        return []

    def accounts(self, user: str) -> list[str] | None:
        found = self.hosts(user)
        return None if found is None else [account(user, host) for host in found]
