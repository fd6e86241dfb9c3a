"""Repository identity read from `.git`, checked against git's own answer on real repositories.

Every repository here is made by the `git` command in a temporary directory; what envguard reads
from the files must be what `git rev-parse HEAD` and `git config remote.origin.url` say (minus
credentials).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from envguard.model import Repository
from envguard.org.repository import public_url, read_repository

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="the git command makes the test repositories")

# No user or system configuration may change what git writes (a global init.defaultBranch, a
# template directory, a reftable default).
_GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "HOME": os.devnull,
}


def run_git(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | _GIT_ENV
    return subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always", *args],
        cwd=directory, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def git(directory: Path, *args: str) -> str:
    result = run_git(directory, *args)
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout.removesuffix("\n")


def make_repository(path: Path, *, commits: int = 2, origin: str | None = None) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q")
    for number in range(commits):
        (path / "requirements.txt").write_text(f"pytest==8.{number}\n", encoding="utf-8")
        git(path, "add", "requirements.txt")
        git(path, "commit", "-q", "-m", f"commit {number}")
    if origin is not None:
        git(path, "remote", "add", "origin", origin)
    return path


def oracle(work_tree: Path) -> tuple[str, str]:
    return git(work_tree, "rev-parse", "HEAD"), git(work_tree, "config", "remote.origin.url")


def test_a_repository_with_commits_and_a_token_in_its_origin_url(tmp_path: Path) -> None:
    url = "https://gitlab-ci-token:glcbt-SECRET@gitlab.example.com/acme/payments.git"
    root = make_repository(tmp_path / "checkout", origin=url)
    service = root / "services" / "billing"
    service.mkdir(parents=True)
    commit, origin = oracle(root)
    assert origin == url
    expected = Repository("payments", commit, "https://gitlab.example.com/acme/payments.git")
    # The workspace root may be anywhere inside the work tree.
    assert read_repository(root) == read_repository(service) == (expected, ())


def test_packed_refs_and_peeled_tags(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo", origin="git@github.com:acme/billing.git")
    git(root, "tag", "-a", "v1", "-m", "release")  # a peeled `^HASH` line in packed-refs
    git(root, "pack-refs", "--all")
    assert not (root / ".git/refs/heads/main").exists()
    assert "\n^" in (root / ".git/packed-refs").read_text(encoding="utf-8")
    commit, origin = oracle(root)
    assert read_repository(root) == (Repository("billing", commit, origin), ())
    # A loose ref written after packing is newer than the packed one.
    git(root, "commit", "-q", "--allow-empty", "-m", "after packing")
    assert (root / ".git/refs/heads/main").exists()
    assert read_repository(root)[0].commit == git(root, "rev-parse", "HEAD") != commit


def test_a_detached_head(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo", commits=3, origin="https://github.com/acme/orders")
    git(root, "checkout", "-q", "--detach", "HEAD~1")
    commit, origin = oracle(root)
    assert (root / ".git/HEAD").read_text(encoding="utf-8").strip() == commit
    assert read_repository(root) == (Repository("orders", commit, origin), ())


def test_a_linked_worktree_reads_the_shared_branches_and_config(tmp_path: Path) -> None:
    main = make_repository(tmp_path / "main", origin="ssh://git@git.example.com:2222/acme/gateway.git")
    git(main, "worktree", "add", "-q", "-b", "feature", str(tmp_path / "feature"))
    worktree = tmp_path / "feature"
    git(worktree, "commit", "-q", "--allow-empty", "-m", "on the feature branch")
    assert (worktree / ".git").is_file()
    commit, origin = oracle(worktree)
    assert commit != git(main, "rev-parse", "HEAD")
    assert read_repository(worktree) == (Repository("gateway", commit, origin), ())
    git(main, "pack-refs", "--all")  # the worktree's branch is now only in the common packed-refs
    assert read_repository(worktree)[0].commit == commit


def test_a_submodule_is_its_own_repository(tmp_path: Path) -> None:
    library = make_repository(tmp_path / "upstream" / "shared-lib.git")
    outer = make_repository(tmp_path / "outer", origin="https://github.com/acme/outer.git")
    git(outer, "submodule", "add", "-q", str(library), "vendor/shared")
    submodule = outer / "vendor" / "shared"
    assert (submodule / ".git").read_text(encoding="utf-8").startswith("gitdir: ")
    commit, origin = oracle(submodule)
    assert origin == str(library)
    assert read_repository(submodule) == (Repository("shared-lib", commit, origin), ())


def test_a_repository_without_commits_or_remotes(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "fresh-start", commits=0)
    assert read_repository(root) == (Repository("fresh-start", None, None), ())


def test_no_git_directory_at_all(tmp_path: Path) -> None:
    (tmp_path / "exported").mkdir()
    assert read_repository(tmp_path / "exported") == (Repository("exported", None, None), ())
    assert read_repository(tmp_path / "exported", "payments") == (Repository("payments", None, None), ())


def test_name_overrides_only_the_name(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo", origin="https://github.com/acme/payments.git")
    commit, origin = oracle(root)
    assert read_repository(root, "payments-service") == (Repository("payments-service", commit, origin), ())


def test_a_git_directory_without_head_is_skipped_as_git_skips_it(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "outer", origin="https://github.com/acme/outer.git")
    inner = root / "vendored"
    (inner / ".git").mkdir(parents=True)
    assert git(inner, "rev-parse", "--show-toplevel") == str(root.resolve())
    assert read_repository(inner)[0] == Repository("outer", *oracle(root))


def test_without_origin_the_first_remote_in_name_order(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo")
    git(root, "remote", "add", "upstream", "https://github.com/acme/upstream-name.git")
    git(root, "remote", "add", "fork", "https://alice:pw@github.com/alice/fork-name.git")
    assert sorted(git(root, "remote").split()) == ["fork", "upstream"]
    expected_url = public_url(git(root, "config", "remote.fork.url"))
    assert read_repository(root)[0] == Repository("fork-name", git(root, "rev-parse", "HEAD"), expected_url)
    assert expected_url == "https://github.com/alice/fork-name.git"


CONFIG = r"""# written by hand, in every spelling git accepts
[core]
	repositoryformatversion = 0 ; a comment after a value
	bare
[Remote "upstream"] url = https://example.com/up.git
[remote "origin"]
	; the subsection is case-sensitive, the section and the key are not
	URL = "https://example.com/acme/"pay\
ments.git # a comment
	fetch = +refs/heads/*:refs/remotes/origin/*
[remote "Origin"]
	url = https://example.com/not-this-one.git
"""


def test_config_syntax_as_git_reads_it(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo")
    (root / ".git/config").write_text(CONFIG, encoding="utf-8")
    origin = git(root, "config", "remote.origin.url")
    assert origin == "https://example.com/acme/payments.git"
    assert read_repository(root)[0] == Repository("payments", git(root, "rev-parse", "HEAD"), origin)


@pytest.mark.parametrize(
    "section",
    [
        '[remote "origin"]\n\turl = /srv/git/a b   c  \n',
        '[remote "origin"]url=/srv/x;comment\n',
        '[remote "origin"] url = "  /srv/quoted  # not a comment ; either "  # a comment\n',
        '[remote "origin"]\n\turl = /srv/tab\\there\\\\and\\"quote\\"\n',
        '[remote "origin"]\n\turl = /srv/con\\\n  tinued\n',
        '[remote.ORIGIN]\n\turl = /srv/old-spelling\n',
        '[remote "or\\igin"]\n\turl = /srv/escaped-subsection\n',
        '[remote "origin"]\n\turl = /srv/first\n\turl = /srv/second\n',
        '[remote "origin"]\n\turl = /srv/\xfcnicode\n',
    ],
)
def test_url_values_as_git_reads_them(tmp_path: Path, section: str) -> None:
    root = make_repository(tmp_path / "repo", commits=0)
    with (root / ".git/config").open("a", encoding="utf-8") as handle:
        handle.write(section)
    # `git remote get-url` is what fetch uses: the first url of the remote (`git config` says the last).
    assert read_repository(root)[0].url == git(root, "remote", "get-url", "origin")


@pytest.mark.parametrize(
    "config",
    [
        '[core]\n\tbare = false\n[remote "origin"\n\turl = x\n',
        '[core]\n\tbare = false\n[remote "origin\n',
        '[core]\n\tbare = false\n[remote\n',
        "[core]\n\tbare = false\n[core",
        "[core]\n\tbare = false\n[]\n",
        "[core]\n\tbare = false\n\tbad key = 1\n",
        "[core]\n\tbare = false\n\t2bad = 1\n",
        '[core]\n\tbare = false\n\tname = "unterminated\n',
        '[core]\n\tbare = false\n\tname = "unterminated',
        "[core]\n\tbare = false\n\tname = bad \\q escape\n",
        "\tbare = false\n\t[core]\n\t[core\n",  # a key before any section and an indented section are fine
    ],
)
def test_a_bad_config_line_is_one_warning_at_the_line_git_names(tmp_path: Path, config: str) -> None:
    root = make_repository(tmp_path / "repo")
    commit = git(root, "rev-parse", "HEAD")
    (root / ".git/config").write_text(config, encoding="utf-8")
    failed = run_git(root, "config", "--list")
    named = re.search(r"bad config line (\d+) in file \.git/config", failed.stderr)
    assert failed.returncode != 0 and named, failed.stderr
    repository, warnings = read_repository(root)
    # git refuses the whole repository; the commit is still what HEAD says, and no remote is guessed.
    assert repository == Repository("repo", commit, None)
    assert [(w.path, w.line) for w in warnings] == [(".git/config", int(named.group(1)))]


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ("garbage\n", "expected a commit hash or 'ref: refs/...'"),
        ("ref: ../../../etc/passwd\n", "expected a commit hash or 'ref: refs/...'"),
        ("ref: refs/heads/a\n", "symbolic refs nested deeper than 5"),
    ],
)
def test_malformed_head_is_a_warning_not_a_crash(tmp_path: Path, head: str, message: str) -> None:
    root = make_repository(tmp_path / "repo", origin="https://github.com/acme/payments.git")
    (root / ".git/refs/heads/a").write_text("ref: refs/heads/b\n", encoding="utf-8")
    (root / ".git/refs/heads/b").write_text("ref: refs/heads/a\n", encoding="utf-8")
    (root / ".git/HEAD").write_text(head, encoding="utf-8")
    repository, warnings = read_repository(root)
    assert repository == Repository("payments", None, "https://github.com/acme/payments.git")
    assert [w.message for w in warnings] == [message]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not a link\n", "not a git link: expected 'gitdir: PATH'"),
        ("gitdir: ../nowhere\n", "gitdir ../nowhere is not a git directory"),
        ("gitdir: x\x00\n", "binary file (contains NUL bytes)"),
    ],
)
def test_a_bad_git_file(tmp_path: Path, content: str, message: str) -> None:
    root = tmp_path / "checkout"
    root.mkdir()
    (root / ".git").write_text(content, encoding="utf-8")
    repository, warnings = read_repository(root)
    assert repository == Repository("checkout", None, None)
    assert [(w.path, w.line, w.message) for w in warnings] == [(".git", 1, message)]


def test_reftable_storage_is_not_read(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo")
    with (root / ".git/config").open("a", encoding="utf-8") as handle:
        handle.write("[extensions]\n\trefStorage = reftable\n")
    repository, warnings = read_repository(root)
    assert repository.commit is None
    assert [w.message for w in warnings] == ["reftable ref storage is not read; the commit is unknown"]


def test_unreadable_head(tmp_path: Path) -> None:
    root = make_repository(tmp_path / "repo")
    (root / ".git/HEAD").unlink()
    (root / ".git/HEAD").mkdir()  # neither a file git reads nor one envguard reads: not a repository
    assert read_repository(root) == (Repository("repo", None, None), ())


@pytest.mark.parametrize(
    ("url", "public", "name"),
    [
        ("https://user:token@github.com/acme/payments.git", "https://github.com/acme/payments.git", "payments"),
        ("https://x-access-token@github.com/acme/payments", "https://github.com/acme/payments", "payments"),
        ("http://u:p@host:8080/a/b/payments/?x=1#y", "http://host:8080/a/b/payments/?x=1#y", "payments"),
        ("ssh://git:secret@git.example.com:2222/acme/payments.git/", "ssh://git@git.example.com:2222/acme/payments.git/", "payments"),
        ("git@github.com:acme/payments.git", "git@github.com:acme/payments.git", "payments"),
        ("host:payments", "host:payments", "payments"),
        ("/srv/git/payments/.git", "/srv/git/payments/.git", "payments"),
        ("../payments.git", "../payments.git", "payments"),
        ("file:///srv/git/payments.git", "file:///srv/git/payments.git", "payments"),
        ("C:\\repos\\payments", "C:\\repos\\payments", "payments"),
        ("https://user:pw@host.example.com", "https://host.example.com", "checkout"),  # no path: no name
        ("https://host.example.com/a@b/payments", "https://host.example.com/a@b/payments", "payments"),
    ],
)
def test_urls_lose_credentials_and_name_the_repository(tmp_path: Path, url: str, public: str, name: str) -> None:
    assert public_url(url) == public
    root = make_repository(tmp_path / "checkout", commits=1)
    git(root, "remote", "add", "origin", url)
    assert read_repository(root)[0] == Repository(name, git(root, "rev-parse", "HEAD"), public)


def test_a_git_directory_envguard_may_not_read_is_no_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repository(tmp_path / "repo")
    real_stat = os.stat

    def stat(path: os.PathLike[str] | str, *args: object, **kwargs: object) -> os.stat_result:
        if ".git" in Path(path).parts:  # another user's .git, mode 0700 (root reads through any mode)
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", stat)
    assert read_repository(root) == (Repository("repo", None, None), ())
