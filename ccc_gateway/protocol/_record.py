"""Frozen, slotted value classes for the decode path, without importing :mod:`dataclasses`.

:mod:`dataclasses` imports :mod:`inspect` and with it ``ast``, ``dis``, ``tokenize`` and ``re``:
about 2 MiB of resident memory in a process that only decodes frames. :func:`record` gives
the subset of ``@dataclass(frozen=True, slots=True)`` this package uses: fields from the
class annotations in order, class attributes as their defaults, a positional-or-keyword
``__init__`` (calling ``__post_init__`` when the class has one), ``__repr__``, ``__eq__``
(same class only), ``__hash__``, ``__match_args__``, ``__replace__`` (so :func:`copy.replace`
works), pickling, and attributes that cannot be assigned or deleted after ``__init__``.
Methods the class defines itself (``__repr__``, say) are kept. No field may hold a mutable
default; ``ClassVar`` annotations are not supported.
"""

from __future__ import annotations

from typing import Any, dataclass_transform

__all__ = ["record"]


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise AttributeError(f"cannot assign to field {name!r} of frozen {type(self).__name__}")


def _frozen_delattr(self: object, name: str) -> None:
    raise AttributeError(f"cannot delete field {name!r} of frozen {type(self).__name__}")


# Only ``__init__`` (run for every object a frame decodes to) is generated per class; the
# other methods are shared and read the fields from ``__match_args__``: generated code for
# all of them would cost more memory than the rest of the package's code.


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


@dataclass_transform(frozen_default=True)
def record[T: type](cls: T) -> T:
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

    # ``__init__`` sets the slots through their descriptors (``__setattr__`` refuses).
    env: dict[str, Any] = {}
    params = []
    for name in names:
        env[f"_set_{name}"] = getattr(new, name).__set__
        if name in defaults:
            env[f"_default_{name}"] = defaults[name]
            params.append(f"{name}=_default_{name}")
        else:
            params.append(name)
    body = [f"    _set_{n}(self, {n})" for n in names]
    if "__post_init__" in namespace:
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass")
    exec(compile(source, f"<record {cls.__qualname__}>", "exec"), env)
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    new.__init__ = init
    return new  # type: ignore[no-any-return]
