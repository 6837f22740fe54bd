"""Request text fields of the HTTP API and the forms."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def no_nul(value: str) -> str:
    """Text the database can hold: PostgreSQL refuses NUL characters."""
    if "\x00" in value:
        raise ValueError("contains a NUL character (\\x00); remove it")
    return value


#: request text: no NUL characters
Text = Annotated[str, AfterValidator(no_nul)]
