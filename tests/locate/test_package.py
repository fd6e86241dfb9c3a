"""`package:NAME[/PATH]` against real installs of the fixture projects in tests/fixtures/locate.

The projects are installed once per session with pip (`--target`, no index, no build
isolation) and found through `sys.path`, exactly as importlib.metadata finds a runner's
site-packages. `acme_envguard_policy/__init__.py` raises on import: every test passing proves
the distribution was never imported.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envguard.cli import main
from envguard.locate import LocateError, locate
from envguard.policy import PolicyError, load_policy_reference

FIXTURES = Path(__file__).parent.parent / "fixtures" / "locate"
PROJECTS = ("acme-envguard-policy", "acme-two-policies", "acme-no-policy")
EXAMPLES = Path(__file__).parent.parent.parent / "examples"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("locate-packages")
    # Built from copies: setuptools writes build/ and *.egg-info next to the sources.
    sources = [shutil.copytree(FIXTURES / name, work / "src" / name) for name in PROJECTS]
    target = work / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
               "--no-build-isolation", "--no-compile", "--disable-pip-version-check", "--target", str(target),
               *map(str, sources)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"pip could not install the fixture projects:\n{done.stderr}")
    return target


@pytest.fixture(autouse=True)
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(site))
    sys.modules.pop("acme_envguard_policy", None)


def test_default_file(site: Path) -> None:
    located = locate("package:acme-envguard-policy", Path("/nonexistent"))
    assert located.shown == "package:acme-envguard-policy==1.2.0"
    assert located.path == site / "acme_envguard_policy" / "envguard-policy.yaml"
    assert "acme_envguard_policy" not in sys.modules


@pytest.mark.parametrize("spelling", ["Acme_Envguard.Policy", "ACME.envguard-policy", "acme--envguard__policy"])
def test_any_spelling(spelling: str) -> None:
    assert locate(f"package:{spelling}", Path(".")).shown == "package:acme-envguard-policy==1.2.0"


def test_named_path(site: Path) -> None:
    located = locate("package:acme-envguard-policy/acme_envguard_policy/extra/base.yaml", Path("."))
    assert located.shown == "package:acme-envguard-policy==1.2.0/acme_envguard_policy/extra/base.yaml"
    assert located.path == site / "acme_envguard_policy" / "extra" / "base.yaml"


def test_policy_and_relative_extends_among_the_distribution_files() -> None:
    policy = load_policy_reference("package:Acme_Envguard.Policy", Path("."))
    assert policy.files == (
        "package:acme-envguard-policy==1.2.0/acme_envguard_policy/extra/base.yaml",
        "package:acme-envguard-policy==1.2.0",
    )
    assert policy.pytest_allowed == ">=7.0"
    assert "pytest-cov" in policy.approved


def test_local_policy_extends_a_package(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text("version: 1\nextends: package:acme-envguard-policy\n", encoding="utf-8")
    policy = load_policy_reference("policy.yaml", tmp_path)
    assert policy.files[-2:] == ("package:acme-envguard-policy==1.2.0", "policy.yaml")


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("package:acme-missing", "distribution acme-missing is not installed (pip install acme-missing)"),
        ("package:acme-no-policy", "acme-no-policy 0.1.0 ships no envguard-policy.yaml; "
         "name the file as package:acme-no-policy/PATH"),
        ("package:acme-two-policies", "acme-two-policies 0.1.0 ships 2 files named envguard-policy.yaml "
         "(acme_two/a/envguard-policy.yaml, acme_two/b/envguard-policy.yaml); name one as package:acme-two-policies/PATH"),
        ("package:acme-envguard-policy/nope.yaml", "acme-envguard-policy 1.2.0 ships no file 'nope.yaml'"),
        ("package:-bad", "'-bad' is not a distribution name (write package:NAME or package:NAME/PATH)"),
    ],
)
def test_errors(written: str, message: str) -> None:
    with pytest.raises(LocateError) as caught:
        locate(written, Path("."))
    assert str(caught.value) == message
    with pytest.raises(PolicyError) as policy_error:
        load_policy_reference(written, Path("."))
    assert str(policy_error.value) == f"{written}:1: {message}"


def test_two_files_one_named() -> None:
    located = locate("package:acme-two-policies/acme_two/b/envguard-policy.yaml", Path("."))
    assert located.shown == "package:acme-two-policies==0.1.0/acme_two/b/envguard-policy.yaml"


def test_same_identity_as_the_file_on_disk(site: Path) -> None:
    # Cycle detection compares identities, so a path into site-packages and the package
    # reference to the same file are one policy.
    by_path = locate("acme_envguard_policy/envguard-policy.yaml", site)
    assert by_path.identity == locate("package:acme-envguard-policy", Path(".")).identity


def test_check_names_the_package_policy(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    code = main(["check", "--format", "json", "--policy", "package:Acme_Envguard.Policy", "examples", "--no-cache"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    assert json.loads(out)["policy"] == [
        "package:acme-envguard-policy==1.2.0/acme_envguard_policy/extra/base.yaml",
        "package:acme-envguard-policy==1.2.0",
    ]
    assert "acme_envguard_policy" not in sys.modules


def test_check_reports_a_missing_package_in_one_line(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    code = main(["check", "--policy", "package:acme-missing", "examples", "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2
    assert "package:acme-missing:1: distribution acme-missing is not installed" in err
    assert "Traceback" not in err
