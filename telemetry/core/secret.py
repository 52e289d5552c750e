"""A credential that prints as `***` until revealed."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Secret"]


@dataclass(frozen=True, slots=True, repr=False)
class Secret:
    """A credential that shows itself only when asked: `secret.reveal()`.

    str(), repr(), format() (f-strings, `%s`, `str.format`) and so logging all
    give `***`; it is no str, so it cannot slip into a URL, a dict for a client
    or a child's environment unrevealed (a type error, or `***`, shows where).
    It is true when set, so `if settings.kafka.sasl_password:` asks whether there
    is one without revealing it.
    """

    _value: str

    def __post_init__(self) -> None:
        if not isinstance(self._value, str):
            raise TypeError(f"a Secret holds a str, not {type(self._value).__name__}")

    def reveal(self) -> str:
        """The value itself: call it where a client, file or child process needs it."""
        return self._value

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "'***'"

    def __format__(self, spec: str) -> str:
        return format("***", spec)

    def __bool__(self) -> bool:
        return bool(self._value)
