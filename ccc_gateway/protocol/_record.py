"""Frozen, slotted value classes for the decode path, without importing :mod:`dataclasses`.

:mod:`dataclasses` imports :mod:`inspect` and with it ``ast``, ``dis``, ``tokenize`` and ``re``,
and compiles the methods it generates (the first compile in a process sets up the compiler:
~0.5 MiB): together about 2.5 MiB of resident memory in a process that only decodes frames.
:func:`record` gives the subset of ``@dataclass(frozen=True, slots=True)`` this package uses,
compiling nothing: fields from the class annotations in order, class attributes as their
defaults, a positional-or-keyword ``__init__`` (calling ``__post_init__`` when the class has
one), ``__repr__``, ``__eq__`` (same class only), ``__hash__``, ``__match_args__``,
``__replace__`` (so :func:`copy.replace` works), pickling, and attributes that cannot be
assigned or deleted after ``__init__``. Methods the class defines itself (``__repr__``, say)
are kept. At most 10 fields; no mutable defaults; ``ClassVar`` annotations are not supported.
"""

from __future__ import annotations

from types import CellType, FunctionType
from typing import Any, Final, TypeVar, dataclass_transform

__all__ = ["record"]


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise AttributeError(f"cannot assign to field {name!r} of frozen {type(self).__name__}")


def _frozen_delattr(self: object, name: str) -> None:
    raise AttributeError(f"cannot delete field {name!r} of frozen {type(self).__name__}")


# Only ``__init__`` (run for every object a frame decodes to) is made per class; the other
# methods are shared and read the fields from ``__match_args__``.


def _values(self: Any) -> tuple[Any, ...]:
    return tuple([getattr(self, name) for name in self.__match_args__])


def _eq(self: Any, other: object) -> object:
    if other.__class__ is self.__class__:
        return bool(_values(self) == _values(other))
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(_values(self))


def _repr(self: Any) -> str:
    fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
    return f"{type(self).__qualname__}({fields})"


def _replace(self: Any, /, **changes: Any) -> Any:
    unknown = changes.keys() - set(self.__match_args__)
    if unknown:
        raise TypeError(f"{type(self).__name__} has no field(s) {', '.join(sorted(unknown))}")
    names = self.__match_args__
    return type(self)(**{name: changes.get(name, getattr(self, name)) for name in names})


def _setstate(self: Any, state: tuple[Any, ...]) -> None:
    for name, value in zip(self.__match_args__, state, strict=True):
        object.__setattr__(self, name, value)


_SHARED: dict[str, Any] = {
    "__eq__": _eq,
    "__hash__": _hash,
    "__repr__": _repr,
    "__replace__": _replace,
    "__getstate__": _values,
    "__setstate__": _setstate,
    "__setattr__": _frozen_setattr,
    "__delattr__": _frozen_delattr,
}


_PLACEHOLDER: Any = None


def _init_templates() -> tuple[Any, ...]:
    """``__init__`` bodies for 0..10 fields: field *i* is set by the setter in cell ``s<i>``.

    :func:`record` renames the parameters and fills the cells. Generating the source and
    compiling it (as :mod:`dataclasses` and :func:`collections.namedtuple` do) would be
    shorter, but the first ``compile`` in a process sets up the compiler's AST types: about
    0.5 MiB of RSS that a decoder does not otherwise need.
    """
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = s9 = _PLACEHOLDER

    def t0(self: Any) -> None:
        pass

    def t1(self: Any, a: Any) -> None:
        s0(self, a)

    def t2(self: Any, a: Any, b: Any) -> None:
        s0(self, a)
        s1(self, b)

    def t3(self: Any, a: Any, b: Any, c: Any) -> None:
        s0(self, a)
        s1(self, b)
        s2(self, c)

    def t4(self: Any, a: Any, b: Any, c: Any, d: Any) -> None:
        s0(self, a)
        s1(self, b)
        s2(self, c)
        s3(self, d)

    def t5(self: Any, a: Any, b: Any, c: Any, d: Any, e: Any) -> None:
        s0(self, a)
        s1(self, b)
        s2(self, c)
        s3(self, d)
        s4(self, e)

    def t6(self: Any, a: Any, b: Any, c: Any, d: Any, e: Any, f: Any) -> None:
        s0(self, a)
        s1(self, b)
        s2(self, c)
        s3(self, d)
        s4(self, e)
        s5(self, f)

    def t7(self: Any, a: Any, b: Any, c: Any, d: Any, e: Any, f: Any, g: Any) -> None:
        s0(self, a)
        s1(self, b)
        s2(self, c)
        s3(self, d)
        s4(self, e)
        s5(self, f)
        s6(self, g)

    def t8(self: Any, a: Any, b: Any, c: Any, d: Any, e: Any, f: Any, g: Any, h: Any) -> None:
        s0(self, a)
        s1(self, b)
        s2(self, c)
        s3(self, d)
        s4(self, e)
        s5(self, f)
        s6(self, g)
        s7(self, h)

    def t9(
        self: Any, a: Any, b: Any, c: Any, d: Any, e: Any, f: Any, g: Any, h: Any, i: Any
    ) -> None:
        s0(self, a)
        s1(self, b)
        s2(self, c)
        s3(self, d)
        s4(self, e)
        s5(self, f)
        s6(self, g)
        s7(self, h)
        s8(self, i)

    def t10(
        self: Any, a: Any, b: Any, c: Any, d: Any, e: Any, f: Any, g: Any, h: Any, i: Any, j: Any
    ) -> None:
        s0(self, a)
        s1(self, b)
        s2(self, c)
        s3(self, d)
        s4(self, e)
        s5(self, f)
        s6(self, g)
        s7(self, h)
        s8(self, i)
        s9(self, j)

    return (t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10)


_TEMPLATES: Final = _init_templates()


def _make_init(cls: Any, names: tuple[str, ...], defaults: dict[str, Any]) -> Any:
    template = _TEMPLATES[len(names)].__code__
    code = template.replace(
        co_varnames=("self", *names, *template.co_varnames[len(names) + 1 :]),
        co_name="__init__",
        co_qualname=f"{cls.__qualname__}.__init__",
    )
    # ``__init__`` sets the slots through their descriptors (``__setattr__`` refuses).
    setters = {f"s{i}": getattr(cls, name).__set__ for i, name in enumerate(names)}
    closure = tuple(CellType(setters[free]) for free in code.co_freevars)
    first_default = next((i for i, n in enumerate(names) if n in defaults), len(names))
    if any(n not in defaults for n in names[first_default:]):
        raise TypeError(f"{cls.__name__}: a field without a default follows one with a default")
    argdefs = tuple(defaults[n] for n in names[first_default:]) or None
    return FunctionType(code, globals(), "__init__", argdefs, closure)


_T = TypeVar("_T", bound=type)
_R = TypeVar("_R")


def replace(obj: _R, /, **changes: Any) -> _R:
    """A copy of the record *obj* with *changes*: :func:`copy.replace` is Python 3.13+, and the
    gateway and emulator also run on 3.11 (Debian 12, Raspberry Pi OS Bookworm)."""
    return obj.__replace__(**changes)  # type: ignore[attr-defined,no-any-return]


@dataclass_transform(frozen_default=True)
def record(cls: _T) -> _T:
    """*cls* rebuilt as a frozen class with ``__slots__`` and the methods listed above."""
    namespace = dict(cls.__dict__)
    names = tuple(cls.__annotations__)
    defaults = {n: namespace.pop(n) for n in names if n in namespace}
    for name in ("__dict__", "__weakref__"):
        namespace.pop(name, None)
    namespace["__slots__"] = names
    namespace["__match_args__"] = names
    for name, function in _SHARED.items():
        namespace.setdefault(name, function)  # methods the class defines itself stay
    new: Any = type(cls)(cls.__name__, cls.__bases__, namespace)
    init = _make_init(new, names, defaults)
    if "__post_init__" in namespace:
        post_init = namespace["__post_init__"]

        def init_then_post_init(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            post_init(self)

        init_then_post_init.__qualname__ = f"{cls.__qualname__}.__init__"
        new.__init__ = init_then_post_init
    else:
        new.__init__ = init
    return new  # type: ignore[no-any-return]
