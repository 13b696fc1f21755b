"""``Record``: the typed, immutable records of the function and the shared modules.

    class Quantization(Record):
        scale: float = 0.0
        zero_point: int = 0

A record is a tuple, as a ``typing.NamedTuple`` is (fields by name and by index, equality,
hashing, unpacking, ``_replace``, ``_asdict``, ``_make``, ``_fields``, pickling), and mypy
reads its fields like a frozen dataclass's (``dataclass_transform``).

Written here rather than taken from the standard library because of what a class costs at
INIT, which every cold start pays (callgrind, python3.12): a frozen ``dataclass`` compiles six
methods with ``exec`` (~4.3 M instructions a class), ``typing.NamedTuple`` evaluates a ``lambda``
for ``__new__`` and compiles each string annotation into a ``ForwardRef`` (~1.9 M for five
fields). This class reads the field names from ``__annotations__`` without evaluating them and
compiles nothing when a record class is made (~0.1 M); its one ``__new__`` is shared by every
record (docs/BENCHMARKS.md, "The function's own INIT, in instructions"). Standard library
only, Python 3.9 code.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import TypeVar

    from typing_extensions import dataclass_transform  # read by mypy only

    R = TypeVar("R", bound="Record")  # mypy only: a TypeVar with a string bound costs INIT
else:
    def dataclass_transform(**_: object) -> Any:
        return lambda cls: cls

try:  # the C accessor collections.namedtuple's fields use; its own fallback is the same
    from _collections import _tuplegetter
except ImportError:  # pragma: no cover - another Python implementation
    def _tuplegetter(index: int, doc: str | None) -> Any:
        return property(itemgetter(index), doc=doc)


class _RecordType(type):
    """Makes a record class: its annotated names become the fields (in order), a value given in
    the class body the field's default, and the class gets no instance ``__dict__``."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any],
                **kwargs: Any) -> _RecordType:
        if "__annotations__" not in namespace and "__annotate__" in namespace:
            # Python 3.14 defers annotations to a function; reading them would evaluate them
            raise TypeError(f"{name}: a record's module needs `from __future__ import "
                            "annotations` (its fields are read without evaluating them)")
        fields = tuple(f for f, kind in namespace.get("__annotations__", {}).items()
                       if not str(kind).startswith(("ClassVar", "typing.ClassVar")))
        inherited = any(getattr(base, "_fields", ()) for base in bases)
        if fields and inherited:
            raise TypeError(f"{name}: a record cannot add fields to another record's")
        defaults: dict[str, Any] = {}
        for index, field in enumerate(fields):
            if field in namespace:
                defaults[field] = namespace[field]
            elif defaults:
                raise TypeError(f"{name}: field {field!r} without a default follows "
                                f"{next(iter(defaults))!r}, which has one")
            namespace[field] = _tuplegetter(index, f"{name}.{field}")
        namespace["__slots__"] = ()
        if not inherited:
            namespace["_fields"] = fields
            namespace["_field_defaults"] = defaults
        return super().__new__(mcls, name, bases, namespace, **kwargs)


@dataclass_transform(frozen_default=True)
class Record(tuple, metaclass=_RecordType):
    """The base of every record (module docstring); subclass it with annotated fields."""

    _fields: ClassVar[tuple[str, ...]]
    _field_defaults: ClassVar[dict[str, Any]]

    def __new__(cls: type[R], *args: Any, **kwargs: Any) -> R:
        fields = cls._fields
        if not kwargs and len(args) == len(fields):
            return tuple.__new__(cls, args)
        if len(args) > len(fields):
            raise TypeError(f"{cls.__name__}() takes {len(fields)} arguments, "
                            f"{len(args)} given")
        values = list(args)
        defaults = cls._field_defaults
        for field in fields[len(args):]:
            if field in kwargs:
                values.append(kwargs.pop(field))
            elif field in defaults:
                values.append(defaults[field])
            else:
                raise TypeError(f"{cls.__name__}() missing argument {field!r}")
        if kwargs:
            name = next(iter(kwargs))
            why = "got two values for" if name in fields else "has no field"
            raise TypeError(f"{cls.__name__}() {why} {name!r}")
        return tuple.__new__(cls, values)

    @classmethod
    def _make(cls: type[R], iterable: Iterable[Any]) -> R:
        values = tuple(iterable)
        if len(values) != len(cls._fields):
            raise TypeError(f"{cls.__name__}._make: {len(cls._fields)} values needed, "
                            f"{len(values)} given")
        return tuple.__new__(cls, values)

    def _replace(self: R, **changes: Any) -> R:
        """A copy with the named fields changed."""
        values = [changes.pop(f, v) for f, v in zip(self._fields, self)]
        if changes:
            raise TypeError(f"{type(self).__name__} has no field {next(iter(changes))!r}")
        return tuple.__new__(type(self), values)

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"{type(self).__name__}({inner})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)
