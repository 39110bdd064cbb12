from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of results. `next_cursor` (when the list is cursor-paged) fetches the next page."""

    data: list[T]
    count: int
    next_cursor: str | None = None
