"""`garrison reputation` on an initialised data directory: categories, add with TagData,
query lines as repEntries/query writes them, import with the line of a bad entry,
export that imports back, delete."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from garrison.cli import main
from garrison.errors import Invalid
from tests.cli.cli_support import initialized_data_dir

root = main.app


Invoke = Callable[..., tuple[int, str]]


@pytest.fixture
def invoke(tmp_path: Path) -> Invoke:
    """``garrison --data-dir DATA reputation ARGS...``: (exit code, standard output); an
    error a user would see as one red line is raised here."""
    data = initialized_data_dir(tmp_path)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(
            root, ["--data-dir", str(data), "reputation", *args], env={"COLUMNS": "200"}
        )
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout

    return run


def test_categories_entries_import_export(invoke: Invoke, tmp_path: Path) -> None:
    code, _ = invoke("categories", "create", "MalwareIpType", "--kind", "list",
                     "--value", "cncHost", "--value", "infectedHost", "--multiple")  # fmt: skip
    assert code == 0
    assert invoke("categories", "create", "Score", "--kind", "range", "--minimum", "0",
                  "--maximum", "100")[0] == 0  # fmt: skip
    listed = invoke("categories", "list")[1]
    assert "cncHost, infectedHost (several)" in listed and "0..100" in listed

    assert invoke("add", "10.1.2.3/8", "--tag-data", "MalwareIpType,cncHost~~~infectedHost")[0] == 0
    assert invoke("query", "10.200.0.1") == (0, "10.0.0.0/8,MalwareIpType,cncHost~~~infectedHost\n")
    assert invoke("query", "192.0.2.1") == (1, "")

    feed = tmp_path / "feed.csv"
    feed.write_text("1.1.1.1,Score,5\n1.1.1.2,Score,500\n")
    with pytest.raises(Invalid, match=r"line 2: tag 'Score': 500 is outside 0\.\.100"):
        invoke("import", str(feed))
    feed.write_text('1.1.1.1,Score,5\n1.1.1.2,MalwareIpType,"cncHost"\n')
    assert invoke("import", str(feed)) == (0, "imported 2 entries (2 added, 0 updated)\n")

    code, exported = invoke("export", "--type", "IPv4")
    assert code == 0
    assert exported.splitlines() == [
        "10.0.0.0/8,MalwareIpType,cncHost~~~infectedHost",
        "1.1.1.1,Score,5",
        "1.1.1.2,MalwareIpType,cncHost",
    ]
    (tmp_path / "back.csv").write_text(exported)
    assert invoke("import", str(tmp_path / "back.csv"))[1] == (
        "imported 3 entries (0 added, 3 updated)\n"
    )

    assert invoke("delete", "10.9.9.9/8") == (0, "deleted 1\n")
    assert invoke("delete", "--criteria", "user") == (0, "deleted 2\n")
    assert invoke("query", "1.1.1.1")[0] == 1
