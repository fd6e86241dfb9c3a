from __future__ import annotations

import json
from pathlib import Path

import pytest

from envguard.errors import SourceError
from envguard.model import Kind, Package, normalize
from envguard.sources.pip_json import load_inspect, load_list

SHOWN = "svc/pip-inspect.json"

# Shaped like `pip inspect` output (pip indents with 2 spaces); written for this test.
INSPECT = """\
{
  "version": "1",
  "pip_version": "24.0",
  "installed": [
    {
      "metadata": {
        "metadata_version": "2.1",
        "name": "requests",
        "version": "2.31.0",
        "requires_dist": ["charset-normalizer<4,>=2", "PySocks!=1.5.7,>=1.5.6; extra == \\"socks\\""]
      },
      "metadata_location": "/venv/lib/python3.12/site-packages/requests-2.31.0.dist-info",
      "installer": "pip",
      "requested": true
    },
    {
      "metadata": {"metadata_version": "2.1", "name": "MyTool", "version": "0.3.0"},
      "metadata_location": "/home/me/src/mytool/mytool.egg-info",
      "direct_url": {"url": "file:///home/me/src/mytool", "dir_info": {"editable": true}}
    },
    {
      "metadata": {"metadata_version": "2.1", "name": "widgets", "version": "1.2.0"},
      "direct_url": {
        "url": "https://github.com/acme/widgets.git",
        "vcs_info": {"vcs": "git", "commit_id": "5f1c0a7d3e0e4b2a9c0e6b6f2a1d3c4b5e6f7a8b"}
      }
    },
    {
      "metadata": {"metadata_version": "2.1", "name": "local_lib", "version": "0.1"},
      "direct_url": {"url": "file:///srv/src/local_lib", "dir_info": {}}
    },
    {
      "metadata": {"metadata_version": "2.1", "name": "gadget", "version": "2.0"},
      "direct_url": {"url": "https://files.example.com/gadget-2.0.tar.gz", "archive_info": {"hashes": {}}}
    },
    {
      "metadata": {"metadata_version": "2.1", "name": "wheel-from-disk", "version": "3.0"},
      "direct_url": {"url": "file:///srv/wheels/wheel_from_disk-3.0-py3-none-any.whl", "archive_info": {}}
    }
  ],
  "environment": {"implementation_name": "cpython", "python_version": "3.12", "sys_platform": "linux"}
}
"""

# pip writes `pip list --format=json` on one line; written for this test.
LIST = (
    '[{"name": "Django", "version": "4.2.11"}, '
    '{"name": "mytool", "version": "0.3.0", "editable_project_location": "/home/me/src/mytool"}, '
    '{"name": "typing_extensions", "version": "4.12.2"}]\n'
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "report.json"
    path.write_text(text, encoding="utf-8")
    return path


def _package(name: str, version: str, kind: Kind, line: int, shown: str = SHOWN, source: str | None = None) -> Package:
    return Package(normalize(name), version, kind, (), None, shown, line, source=source)


def _inspect_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SourceError) as raised:
        load_inspect(_write(tmp_path, text), SHOWN)
    return str(raised.value)


def _list_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SourceError) as raised:
        load_list(_write(tmp_path, text), "svc/pip-list.json")
    return str(raised.value)


def _report(installed: object, version: object = "1") -> str:
    return json.dumps({"version": version, "pip_version": "24.0", "installed": installed}, indent=2)


def test_inspect_kinds_from_direct_url_and_entry_lines(tmp_path: Path) -> None:
    assert load_inspect(_write(tmp_path, INSPECT), SHOWN).packages == (
        _package("requests", "2.31.0", Kind.REGISTRY, 5),
        _package("mytool", "0.3.0", Kind.EDITABLE, 16, source="file:///home/me/src/mytool"),
        _package("widgets", "1.2.0", Kind.VCS, 21, source="git+https://github.com/acme/widgets.git"),
        _package("local-lib", "0.1", Kind.PATH, 28, source="file:///srv/src/local_lib"),
        _package("gadget", "2.0", Kind.URL, 32, source="https://files.example.com/gadget-2.0.tar.gz"),
        # A local archive is a path like a local directory.
        _package(
            "wheel-from-disk", "3.0", Kind.PATH, 36, source="file:///srv/wheels/wheel_from_disk-3.0-py3-none-any.whl"
        ),
    )


def test_inspect_line_is_where_the_entry_starts_whatever_its_key_order(tmp_path: Path) -> None:
    installed = [
        {"direct_url": {"url": "file:///src/a", "dir_info": {"editable": True}}, "metadata": {"name": "a", "version": "1"}},
        {"metadata": {"name": "b", "version": "2"}},
    ]
    text = _report(installed)
    packages = load_inspect(_write(tmp_path, text), SHOWN).packages
    starts = [number for number, line in enumerate(text.split("\n"), start=1) if line == "    {"]
    assert [p.line for p in packages] == starts


def test_inspect_keeps_raw_versions_and_experimental_report_version(tmp_path: Path) -> None:
    text = _report([{"metadata": {"name": "Odd_Name", "version": "not a version"}}], version="0")
    assert [(p.name, p.version) for p in load_inspect(_write(tmp_path, text), SHOWN).packages] == [
        ("odd-name", "not a version")
    ]


@pytest.mark.parametrize("text", ["", "\n", '{"version": "1", "installed": []}'])
def test_inspect_without_packages(tmp_path: Path, text: str) -> None:
    assert load_inspect(_write(tmp_path, text), SHOWN).packages == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "1: invalid JSON: Expecting value"),
        ("\n[]", "2: a pip inspect report must be a JSON object"),
        ('{"installed": []}', "1: unsupported pip inspect report (no 'version'; expected version '1')"),
        (
            '{"installed": [],\n "version": "2"}',
            "2: unsupported pip inspect report (version '2'; expected version '1')",
        ),
        ('{"version": "1"}', "1: a pip inspect report needs an 'installed' array"),
        ('{"version": "1",\n "installed": {}}', "2: a pip inspect report needs an 'installed' array"),
        ('{"version": "1", "installed": [\n"requests"]}', "2: an entry of 'installed' must be a JSON object"),
        ('{"version": "1", "installed": [\n{}]}', "2: an entry of 'installed' has no 'metadata' object"),
        (
            '{"version": "1", "installed": [\n{"metadata": {"version": "1"}}]}',
            "2: an entry of 'installed' has no 'metadata.name'",
        ),
        (
            '{"version": "1", "installed": [{"metadata": {"name": "a", "version": "1"}},\n{"metadata": {"name": "b"}}]}',
            "2: installed package 'b' has no 'metadata.version'",
        ),
        (
            '{"version": "1", "installed": [\n{"metadata": {"name": "b", "version": "1"}, "direct_url": "x"}]}',
            "2: 'direct_url' of installed package 'b' must be a JSON object",
        ),
    ],
)
def test_inspect_malformed(tmp_path: Path, text: str, message: str) -> None:
    assert _inspect_error(tmp_path, text) == f"{SHOWN}:{message}"


def test_list_on_one_line(tmp_path: Path) -> None:
    shown = "svc/pip-list.json"
    assert load_list(_write(tmp_path, LIST), shown).packages == (
        _package("django", "4.2.11", Kind.REGISTRY, 1, shown),
        _package("mytool", "0.3.0", Kind.EDITABLE, 1, shown),
        _package("typing-extensions", "4.12.2", Kind.REGISTRY, 1, shown),
    )


def test_list_pretty_printed_has_a_line_per_entry(tmp_path: Path) -> None:
    text = json.dumps(json.loads(LIST), indent=2)
    assert [p.line for p in load_list(_write(tmp_path, text), "x").packages] == [2, 6, 11]


@pytest.mark.parametrize("text", ["", "[]"])
def test_list_without_packages(tmp_path: Path, text: str) -> None:
    assert load_list(_write(tmp_path, text), "x").packages == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("WARNING: pip is old\n[]", "1: invalid JSON: Expecting value"),
        ('{"name": "a"}', "1: pip list output must be a JSON array (pip list --format=json)"),
        ('[\n"requests"]', "2: an entry of pip list output must be a JSON object"),
        ('[\n{"version": "1"}]', "2: an entry of pip list output has no 'name'"),
        ('[\n{"name": " ", "version": "1"}]', "2: an entry of pip list output has no 'name'"),
        ('[{"name": "a", "version": "1"},\n{"name": "b", "version": null}]', "2: package 'b' of pip list output has no 'version'"),
    ],
)
def test_list_malformed(tmp_path: Path, text: str, message: str) -> None:
    assert _list_error(tmp_path, text) == f"svc/pip-list.json:{message}"


# --------------------------------------------------------------------------- pip install --report

REPORT = Path(__file__).resolve().parents[1] / "fixtures" / "pip" / "install-report" / "pip-report.json"


def test_report_of_a_real_dry_run() -> None:
    from envguard.sources.pip_json import load_report

    loaded = load_report(REPORT, "svc/pip-report.json")
    found = {p.name: (p.version, p.kind) for p in loaded.packages}
    assert len(loaded.packages) == 15 and loaded.warnings == ()
    assert found["acme-scratch"] == ("0.1.0", Kind.EDITABLE)
    assert found["pytest"] == ("8.4.2", Kind.REGISTRY)
    assert found["pygments"][1] is Kind.REGISTRY and found["pysocks"] == ("1.7.1", Kind.REGISTRY)
    assert all(p.groups == () and p.marker is None and p.path == "svc/pip-report.json" for p in loaded.packages)
    text = REPORT.read_text(encoding="utf-8").splitlines()
    for package in loaded.packages:  # each at the line that opens its entry
        assert text[package.line - 1].strip() == "{"
    assert [p.line for p in loaded.packages] == sorted(p.line for p in loaded.packages)


def test_report_direct_kinds(tmp_path: Path) -> None:
    from envguard.sources.pip_json import load_report

    def item(name: str, is_direct: bool, info: dict[str, object]) -> dict[str, object]:
        return {"metadata": {"name": name, "version": "1.0"}, "is_direct": is_direct, "download_info": info}

    report = {
        "version": "1",
        "pip_version": "26.3",
        "install": [
            item("from-index", False, {"url": "https://files.example.com/a.whl", "archive_info": {}}),
            item("archive", True, {"url": "https://example.com/b.tar.gz", "archive_info": {}}),
            item("local-archive", True, {"url": "file:///tmp/c.whl", "archive_info": {}}),
            item("vcs", True, {"url": "https://git.example.com/d.git", "vcs_info": {"vcs": "git", "commit_id": "0" * 40}}),
            item("directory", True, {"url": "file:///src/e", "dir_info": {}}),
        ],
    }
    path = tmp_path / "pip-report.json"
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    kinds = [(p.name, p.kind) for p in load_report(path, "svc/pip-report.json").packages]
    assert kinds == [
        ("from-index", Kind.REGISTRY),
        ("archive", Kind.URL),
        ("local-archive", Kind.PATH),
        ("vcs", Kind.VCS),
        ("directory", Kind.PATH),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"version": "2", "install": []}', "svc/r.json:1: unsupported pip installation report (version '2'; expected version '1')"),
        ('{"version": "1",\n "install": {}}', "svc/r.json:2: a pip installation report needs an 'install' array"),
        ('{"version": "1", "install": [\n 3]}', "svc/r.json:2: an entry of 'install' must be a JSON object"),
        (
            '{"version": "1", "install": [\n {"metadata": {"name": "a", "version": "1"}}]}',
            "svc/r.json:2: package 'a' of the report has no 'is_direct' true or false",
        ),
        (
            '{"version": "1", "install": [\n {"metadata": {"name": "a", "version": "1"}, "is_direct": true, "download_info": 7}]}',
            "svc/r.json:2: 'download_info' of package 'a' must be a JSON object",
        ),
    ],
)
def test_report_malformed(tmp_path: Path, text: str, message: str) -> None:
    from envguard.sources.pip_json import load_report

    path = tmp_path / "r.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as raised:
        load_report(path, "svc/r.json")
    assert str(raised.value) == message


def test_report_is_discovered_by_name_and_recognised_by_content(tmp_path: Path) -> None:
    from envguard.workspace import discover

    service = tmp_path / "svc"
    service.mkdir()
    (service / "pip-report.json").write_bytes(REPORT.read_bytes())
    (service / "pip-list.json").write_text("[]", encoding="utf-8")
    (spec,) = discover([tmp_path]).services
    assert [(s.path, s.format) for s in spec.sources] == [("svc/pip-report.json", "pip-report")]
    assert [(s.path, s.format) for s in spec.ignored] == [("svc/pip-list.json", "pip-list")]
    named = tmp_path / "report.json"
    named.write_bytes(REPORT.read_bytes())
    (explicit,) = discover([named]).services
    assert [s.format for s in explicit.sources] == ["pip-report"]
