"""Test sessions of the payments service (envguard reads this file as a syntax tree, never runs it)."""

import nox

ASYNC_DEPS = ["pytest-xdist==3.8.0", "pytest-asyncio==0.23.8"]


@nox.session(python=["3.11", "3.12"])
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.install(*ASYNC_DEPS)
    session.run("pytest", "-n", "2")
