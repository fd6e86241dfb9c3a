"""`record`: a frozen dataclass whose comparisons, hash and repr are shared functions.

dataclasses writes the source of every method it adds and compiles each one (Python 3.11 and
3.12: one `exec` a method): six for a frozen class, ten with `order=True`, about half a
millisecond a class. A warm pre-commit run imports some forty of these classes, and compiling
their methods was a fifth of its time. Here dataclasses still writes `__init__` and the frozen
`__setattr__` and `__delattr__` (and the slots); `__eq__`, `__hash__`, `__repr__` and the order
methods are closures around one `operator.attrgetter` of the same fields dataclasses would use,
and give its results: `__eq__` and the order methods compare the tuples of the compared fields
of two instances of the same class (else NotImplemented), `__hash__` hashes the tuple of the
hashed fields, `__repr__` is `Name(field=value!r, ...)` over the shown fields, "..." where an
instance is already being shown. `__dataclass_params__` therefore says repr, eq and order are
off; `dataclasses.fields`, `replace` and `asdict` work as on any dataclass.

Type checkers see `dataclasses.dataclass` itself: `@record(frozen=True, order=True, slots=True)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dataclasses import dataclass as record
else:
    import dataclasses
    import reprlib
    from operator import attrgetter

    # Methods this module writes; a class that defines one of its own should be a plain dataclass.
    _WRITTEN = ("__eq__", "__hash__", "__repr__", "__lt__", "__le__", "__gt__", "__ge__")

    def record(cls=None, /, *, frozen=False, order=False, slots=False):
        if not frozen:
            raise TypeError("record makes frozen classes: give frozen=True, or use dataclasses.dataclass")

        def wrap(cls):
            return _make(cls, order, slots)

        return wrap if cls is None else wrap(cls)

    def _make(cls, order, slots):
        for name in _WRITTEN:
            if name in cls.__dict__:
                raise TypeError(f"{cls.__qualname__} defines {name}: make it with dataclasses.dataclass")
        made = dataclasses.dataclass(cls, frozen=True, repr=False, eq=False, slots=slots)
        fields = dataclasses.fields(made)
        compared = _key(tuple(f.name for f in fields if f.compare))
        made.__eq__ = _compare(compared, lambda a, b: a == b, "__eq__")
        made.__hash__ = _hash(_key(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))))
        made.__repr__ = _repr(tuple(f.name for f in fields if f.repr))
        if order:
            made.__lt__ = _compare(compared, lambda a, b: a < b, "__lt__")
            made.__le__ = _compare(compared, lambda a, b: a <= b, "__le__")
            made.__gt__ = _compare(compared, lambda a, b: a > b, "__gt__")
            made.__ge__ = _compare(compared, lambda a, b: a >= b, "__ge__")
        return made

    def _key(names):
        """The tuple of `names`' values of an instance (a 1-tuple too: tuples compare items by
        identity first, as dataclasses' generated methods do)."""
        if len(names) > 1:
            return attrgetter(*names)
        if len(names) == 1:
            one = attrgetter(names[0])
            return lambda self: (one(self),)
        return lambda self: ()

    def _compare(key, op, name):
        def method(self, other):
            if other.__class__ is self.__class__:
                return op(key(self), key(other))
            return NotImplemented

        method.__name__ = method.__qualname__ = name
        return method

    def _hash(key):
        def __hash__(self):
            return hash(key(self))

        return __hash__

    def _repr(names):
        @reprlib.recursive_repr("...")  # an instance already being shown, as dataclasses does
        def __repr__(self):
            values = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
            return f"{self.__class__.__qualname__}({values})"

        return __repr__


__all__ = ["record"]
