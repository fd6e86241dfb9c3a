"""envguard._record makes classes that behave as dataclasses.dataclass(frozen=True, ...) would."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from envguard._record import record


def pair(*, order: bool = False, slots: bool = False) -> tuple[Any, Any]:
    """The same class made by record and by dataclasses."""
    made = []
    for decorator in (record, dataclass):

        class Item:
            name: str
            value: float | None
            tags: tuple[str, ...] = ()
            note: str = field(default="", compare=False)
            hidden: int = field(default=0, repr=False)
            unhashed: str = field(default="", hash=False)

        made.append(decorator(frozen=True, order=order, slots=slots)(Item))
    return made[0], made[1]


VALUES = [
    ("a", 1.0),
    ("a", 1.0, ("x",)),
    ("a", 1.0, (), "other note"),
    ("a", 1.0, (), "", 3),
    ("a", 1.0, (), "", 0, "u"),
    ("b", None),
    ("a", float("nan")),
]


@pytest.mark.parametrize("slots", [False, True])
@pytest.mark.parametrize("order", [False, True])
def test_behaves_as_a_frozen_dataclass(order: bool, slots: bool) -> None:
    ours, theirs = pair(order=order, slots=slots)
    nan = float("nan")
    for left, right in [(a, b) for a in VALUES for b in VALUES]:
        left = tuple(nan if isinstance(v, float) and v != v else v for v in left)
        x, y = ours(*left), ours(*right)
        p, q = theirs(*left), theirs(*right)
        assert repr(x).replace("test_behaves_as_a_frozen_dataclass.<locals>.", "") == repr(p).replace(
            "test_behaves_as_a_frozen_dataclass.<locals>.", ""
        )
        assert (x == y) == (p == q) and (x != y) == (p != q)
        assert hash(x) == hash(p)
        if order and left[1] is not None and right[1] is not None:
            assert [x < y, x <= y, x > y, x >= y] == [p < q, p <= q, p > q, p >= q]
    x = ours("a", 1.0)
    assert x.__eq__(("a", 1.0)) is NotImplemented
    assert x != theirs("a", 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        x.name = "b"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del x.name  # type: ignore[misc]
    assert dataclasses.replace(x, name="b") == ours("b", 1.0)
    assert dataclasses.asdict(x) == dataclasses.asdict(theirs("a", 1.0))
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert ours.__match_args__ == theirs.__match_args__
    assert hasattr(ours, "__slots__") == slots


def test_nan_field_equals_itself_as_dataclasses_tuples_do() -> None:
    ours, theirs = pair()
    nan = float("nan")
    assert (ours("a", nan) == ours("a", nan)) == (theirs("a", nan) == theirs("a", nan))

    @record(frozen=True)
    class One:
        value: float

    @dataclass(frozen=True)
    class Two:
        value: float

    assert (One(nan) == One(nan)) == (Two(nan) == Two(nan)) is True


def test_recursive_repr() -> None:
    @record(frozen=True)
    class Box:
        items: list[Any]

    box = Box([])
    box.items.append(box)
    assert repr(box) == "test_recursive_repr.<locals>.Box(items=[...])"


def test_pickles() -> None:
    assert pickle.loads(pickle.dumps(Module(1, "x"))) == Module(1, "x")
    assert pickle.loads(pickle.dumps(SlottedModule(1, "x"))) == SlottedModule(1, "x")


def test_refuses_what_it_would_not_make_alike() -> None:
    with pytest.raises(TypeError):
        record(frozen=False)

    with pytest.raises(TypeError):

        @record(frozen=True)
        class Own:
            value: int

            def __eq__(self, other: object) -> bool:
                return True


@record(frozen=True)
class Module:
    number: int
    text: str


@record(frozen=True, slots=True, order=True)
class SlottedModule:
    number: int
    text: str
