"""Reputation over the real HTTPS Web services: import N entries in 10,000-line files
(``repEntries/import``), then query 10,000 addresses in one call (``repEntries/query``).

A real ``garrison serve`` (bench/serving.py: ``garrison init`` into a fresh data
directory, then ``serve`` with HTTPS on a free loopback port, every other listener on a port
the system picks, the poller off) on SQLite in its data directory (default) or on a
PostgreSQL server: with ``--database-url postgresql+psycopg://...`` a throwaway database on
that server, dropped at the end. This process is the client (``requests`` with a
kept-alive connection, as scripts call an SMS), pinned to the first core and the server to
the last (``--no-pin``).

The entries, every one distinct, come in files of one kind each, with tags of two
categories made first over /api/v1 (``ThreatScore``, a range; ``MalwareIpType``, a
multi-value list): eight files in ten IPv4 (nine lines in ten a host, one a /24 block),
one IPv6 (hosts and /64s), one DNS names. Reported: the median, 90th percentile and
maximum seconds an import call takes, and the entries a second overall (medians over the
files: the store grows while they are imported, so the first and last tenth are shown
too); then, ``--rounds`` times, one ``repEntries/query`` of 10,000 addresses (8,000
imported hosts, 1,000 addresses inside imported /24 blocks, 1,000 absent; POSTed as a
form, since 10,000 addresses do not fit in a URL), checked line by line, and the median
of ``--singles`` one-address GETs. The figures are printed and written as JSON to
/tmp/garrison-reputation-ws-<time>.json.

    /tmp/gvenv/bin/python bench/reputation_ws.py --entries 1000000
    /tmp/gvenv/bin/python bench/reputation_ws.py --entries 1000000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

A measurement, not a test: it asserts only that every answer is right.
"""

from __future__ import annotations

import argparse
import csv
import io
import ipaddress
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import requests
from serving import Server, client_session, pin_client, running_server

from garrison.reputation.wire import format_import

HOSTS = int(ipaddress.IPv4Address("11.0.0.0"))  # the i-th host entry is HOSTS + i
BLOCKS = int(ipaddress.IPv4Address("64.0.0.0"))  # the b-th /24 block starts at BLOCKS + 256 b
V6 = int(ipaddress.IPv6Address("2001:db8::"))
ABSENT = "198.18.{}.{}"  # never imported
MALWARE = ("cncHost", "infectedHost", "cncHost~~~infectedHost")


# -- the entries --------------------------------------------------------------------------


def file_kind(number: int) -> str:
    return {8: "ipv6", 9: "dns"}.get(number % 10, "ipv4")


def entry(kind: str, i: int) -> str:
    """The i-th entry overall (distinct for every i), of its file's kind."""
    if kind == "ipv4":
        if i % 10 == 0:
            return f"{ipaddress.IPv4Address(BLOCKS + (i // 10) * 256)}/24"
        return str(ipaddress.IPv4Address(HOSTS + i))
    if kind == "ipv6":
        if i % 10 == 0:
            return f"{ipaddress.IPv6Address(V6 + (i << 64))}/64"
        return str(ipaddress.IPv6Address(V6 + i))
    return f"h{i}.bench{i % 1000}.example"


def tags(i: int) -> dict[str, str]:
    return {"ThreatScore": str(i % 101), "MalwareIpType": MALWARE[i % 3]}


def make_file(number: int, lines: int, total: int) -> tuple[str, bytes, list[int]]:
    """(kind, file content, the indexes of the entries in it)."""
    kind = file_kind(number)
    indexes = list(range(number * lines, min((number + 1) * lines, total)))
    text = format_import(((entry(kind, i), tags(i)) for i in indexes), kind)
    return kind, text.encode(), indexes


# -- the calls ----------------------------------------------------------------------------


def make_categories(session: requests.Session, server: Server) -> None:
    for body in (
        {"name": "ThreatScore", "kind": "range", "minimum": 0, "maximum": 100},
        {"name": "MalwareIpType", "kind": "list", "values": list(MALWARE[:2]), "multiple": True},
    ):
        answer = session.post(f"{server.url}/api/v1/reputation/tag-categories", json=body)
        answer.raise_for_status()


def import_all(
    session: requests.Session, server: Server, total: int, lines: int, say: Any
) -> list[float]:
    seconds: list[float] = []
    files = (total + lines - 1) // lines
    for number in range(files):
        kind, content, indexes = make_file(number, lines, total)
        started = time.perf_counter()
        answer = session.post(
            f"{server.url}/repEntries/import",
            params={"type": kind},
            files={"file": (f"bench-{number}.csv", content, "text/csv")},
        )
        seconds.append(time.perf_counter() - started)
        expected = f"imported {len(indexes)} entries ({len(indexes)} added, 0 updated)\n"
        if (answer.status_code, answer.text) != (200, expected):
            raise RuntimeError(f"file {number}: {answer.status_code} {answer.text[:300]}")
        if number % 10 == 9 or number == files - 1:
            done = min((number + 1) * lines, total)
            say(f"  {done:>10,} entries; last file {seconds[-1]:.2f} s")
    return seconds


def query_sample(total: int, lines: int, rng: random.Random) -> tuple[list[str], set[str]]:
    """10,000 addresses, and the entries the answer must hold."""
    v4 = [i for n in range((total + lines - 1) // lines) if file_kind(n) == "ipv4"
          for i in range(n * lines, min((n + 1) * lines, total))]  # fmt: skip
    hosts, blocks = [i for i in v4 if i % 10], [i for i in v4 if i % 10 == 0]
    if len(hosts) < 8000 or len(blocks) < 1000:
        raise SystemExit("too few IPv4 entries for the query: import at least 10,000")
    hosts, blocks = rng.sample(hosts, 8000), rng.sample(blocks, 1000)
    addresses = [entry("ipv4", i) for i in hosts]
    addresses += [str(ipaddress.IPv4Address(BLOCKS + (b // 10) * 256 + 7)) for b in blocks]
    addresses += [ABSENT.format(n // 250, n % 250 + 1) for n in range(1000)]
    rng.shuffle(addresses)
    expected = {entry("ipv4", i) for i in hosts} | {entry("ipv4", b) for b in blocks}
    return addresses, expected


def query_once(
    session: requests.Session, server: Server, addresses: list[str], expected: set[str]
) -> float:
    started = time.perf_counter()
    answer = session.post(f"{server.url}/repEntries/query", data={"ip": addresses})
    seconds = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"query: {answer.status_code} {answer.text[:300]}")
    found = list(csv.reader(io.StringIO(answer.text, newline="")))
    if {row[0] for row in found} != expected or len(found) != len(expected):
        raise RuntimeError(f"query: {len(found)} lines, {len(expected)} expected")
    return seconds


def single_queries(
    session: requests.Session, server: Server, addresses: list[str], count: int
) -> list[float]:
    seconds = []
    for address in addresses[:count]:
        started = time.perf_counter()
        answer = session.get(f"{server.url}/repEntries/query", params={"ip": address})
        seconds.append(time.perf_counter() - started)
        if answer.status_code not in (200, 204):
            raise RuntimeError(f"query {address}: {answer.status_code} {answer.text[:200]}")
    return seconds


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--file-lines", type=int, default=10_000)
    parser.add_argument("--database-url", default="", help="a PostgreSQL server; default SQLite")
    parser.add_argument("--rounds", type=int, default=5, help="10,000-address queries")
    parser.add_argument("--singles", type=int, default=200, help="one-address queries")
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()
    server_core = pin_client(no_pin=args.no_pin)

    def say(text: str) -> None:
        print(text, flush=True)

    backend = args.database_url.split(":", 1)[0] if args.database_url else "sqlite"
    say(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; {backend}; "
        f"{args.entries:,} entries in files of {args.file_lines:,} lines")  # fmt: skip
    record: dict[str, Any] = {"argv": sys.argv, "backend": backend, "load_before": os.getloadavg()}
    with running_server("garrison-rep-ws-", args.database_url, server_core) as server:
        with client_session(server) as session:
            make_categories(session, server)
            started = time.perf_counter()
            files = import_all(session, server, args.entries, args.file_lines, say)
            wall = time.perf_counter() - started
            tenth = max(1, len(files) // 10)
            record["import"] = {
                "files": len(files),
                "median_s": statistics.median(files),
                "p90_s": quantile(files, 0.9),
                "max_s": max(files),
                "first_tenth_median_s": statistics.median(files[:tenth]),
                "last_tenth_median_s": statistics.median(files[-tenth:]),
                "entries_per_s": args.entries / wall,
                "wall_s": wall,
            }
            rng = random.Random(7)
            rounds = []
            for _ in range(args.rounds):
                addresses, expected = query_sample(args.entries, args.file_lines, rng)
                rounds.append(query_once(session, server, addresses, expected))
            singles = single_queries(session, server, addresses, args.singles)
            record["query"] = {
                "rounds": rounds,
                "median_10000_s": statistics.median(rounds),
                "single_median_ms": statistics.median(singles) * 1000,
                "single_p90_ms": quantile(singles, 0.9) * 1000,
            }
        server.stop()  # the SQLite files at rest, measured before the directory goes
        if server.sqlite:
            record["sqlite_mib"] = (
                sum(p.stat().st_size for p in server.data.glob("garrison.db*")) / 2**20
            )
    record["load_after"] = os.getloadavg()
    imp, qry = record["import"], record["query"]
    say(f"import: {imp['files']} files; per file median {imp['median_s']:.2f} s, "
        f"p90 {imp['p90_s']:.2f} s, max {imp['max_s']:.2f} s; first tenth "
        f"{imp['first_tenth_median_s']:.2f} s, last tenth {imp['last_tenth_median_s']:.2f} s; "
        f"{imp['entries_per_s']:,.0f} entries/s overall")  # fmt: skip
    rounds = ", ".join(f"{s:.2f}" for s in qry["rounds"])
    say(f"query of 10,000 addresses in one call: median {qry['median_10000_s']:.2f} s "
        f"over {len(qry['rounds'])} rounds ({rounds})")  # fmt: skip
    say(f"one address: median {qry['single_median_ms']:.1f} ms, p90 {qry['single_p90_ms']:.1f} ms")
    if "sqlite_mib" in record:
        say(f"SQLite files: {record['sqlite_mib']:,.0f} MiB")
    out = Path(f"/tmp/garrison-reputation-ws-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.write_text(json.dumps(record, indent=1, default=str))
    say(f"results: {out}")


if __name__ == "__main__":
    main()
