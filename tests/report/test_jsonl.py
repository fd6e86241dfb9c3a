"""`envguard inventory --format jsonl`: one row per package entry, the same rows the JSON
inventory holds, and the README's DuckDB query over several repositories' files."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from envguard.cli import main
from envguard.report.jsonl import COLUMNS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "monorepo"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def inventory(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["inventory", *args, "--no-cache"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows_of_document(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows the JSON inventory document implies, built from it alone."""
    repository = document["repository"]
    rows = []
    for service in sorted(document["services"], key=lambda s: s["name"]):
        head = {"repository": repository["name"], "commit": repository["commit"], "service": service["name"]}
        for p in service["packages"]:
            rows.append({**head, "package": p["name"], "version": p["version"], "specifier": p["specifier"],
                         "kind": p["kind"], "groups": p["groups"], "marker": p["marker"], "source": "locked",
                         "environment": None, "path": p["path"], "line": p["line"],
                         "installed_from": p["source"], "hashed": p["hashed"]})  # fmt: skip
        for d in service["declarations"]:
            rows.append({**head, "package": d["name"], "version": d["version"], "specifier": d["specifier"],
                         "kind": d["kind"], "groups": d["groups"], "marker": d["marker"], "source": "declared",
                         "environment": d["environment"], "path": d["path"], "line": d["line"],
                         "installed_from": d["source"], "hashed": None})  # fmt: skip
    return rows


def test_the_rows_of_the_example_are_the_json_inventory_s_entries(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = inventory(capsys, str(EXAMPLE), "--format", "jsonl", "--name", "acme-monorepo")
    assert (code, err) == (0, "")
    _, document_text, _ = inventory(capsys, str(EXAMPLE), "--format", "json", "--name", "acme-monorepo")
    document = json.loads(document_text)
    assert out.endswith("\n") and "\n\n" not in out
    lines = out.splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows == rows_of_document(document)
    assert len(rows) == sum(len(s["packages"]) + len(s["declarations"]) for s in document["services"]) > 300
    for line, row in zip(lines, rows):
        assert tuple(row) == COLUMNS  # every row has every column, in this order
        assert line == json.dumps(row, separators=(",", ":"), ensure_ascii=False)
    assert {row["repository"] for row in rows} == {"acme-monorepo"}
    assert {row["source"] for row in rows} == {"locked", "declared"}
    assert all((row["environment"] is None) == (row["source"] == "locked") for row in rows)
    services = [row["service"] for row in rows]
    assert services == sorted(services)
    # The same input, the same bytes.
    assert inventory(capsys, str(EXAMPLE), "--format", "jsonl", "--name", "acme-monorepo")[1] == out


def test_non_ascii_is_kept_and_errors_are_not_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "café").mkdir()
    (tmp_path / "café" / "requirements.txt").write_text("pytest==8.3.4 ; platform_system == 'Darwin'\n", encoding="utf-8")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "uv.lock").write_text("version = [\n", encoding="utf-8")
    target = tmp_path / "rows.jsonl"
    code, out, err = inventory(capsys, str(tmp_path), "--format", "jsonl", "-o", str(target))
    assert (code, out) == (2, "")
    assert re.fullmatch(r"broken/uv\.lock:1: invalid TOML: .+\n", err)
    data = target.read_bytes()
    assert "café/requirements.txt".encode() in data  # not \u00e9
    assert [json.loads(line) for line in data.decode().splitlines()] == [{
        "repository": tmp_path.name, "commit": None, "service": "café", "package": "pytest", "version": "8.3.4",
        "specifier": None, "kind": "registry", "groups": ["main"], "marker": 'platform_system == "Darwin"',
        "source": "locked", "environment": None, "path": "café/requirements.txt", "line": 1,
        "installed_from": None, "hashed": False,
    }]  # fmt: skip


def test_where_an_entry_comes_from_is_a_column_without_its_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "requirements.txt").write_text(
        "--index-url https://ci:s3cr3t@pypi.example.com/simple\n"
        "pytest==8.3.4 --hash=sha256:" + "0" * 64 + "\n"
        "tools @ git+https://example.com/acme/tools.git@v1\n",
        encoding="utf-8",
    )
    code, out, err = inventory(capsys, str(tmp_path), "--format", "jsonl")
    assert (code, err) == (0, "") and "s3cr3t" not in out
    rows = {row["package"]: row for row in map(json.loads, out.splitlines())}
    assert (rows["pytest"]["installed_from"], rows["pytest"]["hashed"]) == ("https://***@pypi.example.com/simple", True)
    assert (rows["tools"]["installed_from"], rows["tools"]["hashed"]) == ("git+https://example.com/acme/tools.git", None)


def test_an_empty_workspace_has_no_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert inventory(capsys, str(tmp_path), "--format", "jsonl") == (0, "", "")


def test_a_bad_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = inventory(capsys, str(EXAMPLE), "--format", "jsonl", "--name", "acme/payments")
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        "envguard: error: argument --name: 'acme/payments' is not a repository name "
        "(no '/', no surrounding spaces)"
    )


# Three repositories of one organisation, each made of services of the example; billing is in two.
REPOSITORIES = {
    "payments-repo": ("billing", "orders"),
    "platform-repo": ("analytics", "runner", "gateway"),
    "legacy-repo": ("billing", "notifications", "reports"),
}


def readme_query() -> str:
    """The DuckDB query the README shows, exactly."""
    section = README[README.index("### Many repositories") :]
    match = re.search(r"```sql\n(.*?)```", section, re.S)
    assert match, "the README's Many repositories section has no SQL block"
    return match.group(1)


def test_the_readme_s_duckdb_query_over_several_repositories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    duckdb = pytest.importorskip("duckdb", reason="the duckdb test extra runs the README's query")
    inventories = tmp_path / "inventories"
    inventories.mkdir()
    expected: dict[str, set[str]] = {}
    for name, services in REPOSITORIES.items():
        checkout = tmp_path / "checkouts" / f"{name}-checkout"
        for service in services:
            shutil.copytree(EXAMPLE / "services" / service, checkout / "services" / service)
        code, _, err = inventory(capsys, str(checkout), "--format", "jsonl", "--name", name,
                                 "-o", str(inventories / f"{name}.jsonl"))  # fmt: skip
        assert (code, err) == (0, "")
        # The answer, worked out from the JSON inventory instead of the rows.
        code, document, _ = inventory(capsys, str(checkout), "--format", "json", "--name", name)
        for service in json.loads(document)["services"]:
            for package in service["packages"]:
                if package["name"] == "pytest-cov":
                    expected.setdefault(package["version"], set()).add(f"{name}/{service['name']}")
    query = readme_query()
    assert "'inventories/*.jsonl'" in query
    glob = (inventories / "*.jsonl").as_posix()
    result = duckdb.connect().sql(query.replace("'inventories/*.jsonl'", f"'{glob}'")).fetchall()
    assert result == [(version, sorted(users)) for version, users in sorted(expected.items())]
    assert result == [
        ("4.1.0", ["legacy-repo/notifications"]),
        ("5.0.0", ["legacy-repo/reports", "platform-repo/gateway"]),
        ("6.3.0", ["payments-repo/orders"]),
        ("7.1.0", ["legacy-repo/billing", "payments-repo/billing", "platform-repo/analytics", "platform-repo/runner"]),
    ]


def test_the_readme_declares_every_column_for_duckdb_bigquery_and_spark() -> None:
    section = README[README.index("### Many repositories: the inventory as rows") :]
    section = section[: section.index("\n## ")]
    bigquery = re.search(r"```json\n(.*?)```", section, re.S)
    spark = re.search(r"spark\.read\.schema\(\n(.*?)\)", section, re.S)
    assert bigquery and spark
    bigquery_columns = json.loads(bigquery.group(1))
    spark_columns = re.findall(r"(\w+) (?:STRING|INT|ARRAY|BOOLEAN)", spark.group(1))
    duckdb_columns = re.findall(r"(\w+): '", readme_query())
    assert tuple(duckdb_columns) == tuple(c["name"] for c in bigquery_columns) == tuple(spark_columns) == COLUMNS
    assert [c["name"] for c in bigquery_columns if c.get("mode") == "REPEATED"] == ["groups"]
