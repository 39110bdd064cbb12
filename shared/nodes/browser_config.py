"""The configs of the `browser.*` node types."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SELECTOR_HELP = (
    "where on the page: CSS (`form button[type=submit]`), or Playwright's `text=Sign in`, `xpath=//h1`, "
    '`role=button[name="Save"]`'
)


def selector_field(*examples: str) -> Any:
    return Field(min_length=1, max_length=2000, description=SELECTOR_HELP, examples=list(examples))


def timeout_field() -> Any:
    return Field(
        default=None,
        gt=0,
        description="how long to wait, in seconds; the browser_timeout_s setting (the default) caps it",
        examples=[10],
    )


class BrowserConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GotoConfig(BrowserConfig):
    url: str = Field(
        min_length=1,
        max_length=8192,
        description="an http:// or https:// URL",
        examples=["https://example.com/login", "https://shop.example.com/search?q={{ input.q }}"],
    )
    wait_until: Literal["load", "domcontentloaded", "networkidle", "commit"] = Field(
        default="load", description="when the navigation counts as done", examples=["load", "networkidle"]
    )
    raise_for_status: bool = Field(
        default=True, description="fail the step when the page answers 400 or above", examples=[True]
    )
    credential: str | None = Field(
        default=None,
        description="a browser_cdp credential: drive a remote browser (Bright Data's Scraping Browser) instead of "
        "the local Chromium; only the execution's first browser step opens the browser, so set it there",
        examples=["scraping-browser"],
    )
    timeout_s: float | None = timeout_field()

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        split = urlsplit(value)
        if split.scheme.lower() not in ("http", "https") or not split.hostname:
            raise ValueError(f"must be an http:// or https:// URL with a host; {split.scheme or 'no'} scheme refused")
        return value


class ClickConfig(BrowserConfig):
    selector: str = selector_field("button[type=submit]", "text=Next page")
    button: Literal["left", "right", "middle"] = Field(default="left", description="mouse button", examples=["left"])
    click_count: int = Field(default=1, ge=1, le=3, description="2 for a double click", examples=[1, 2])
    wait_until: Literal["load", "domcontentloaded", "networkidle"] | None = Field(
        default=None,
        description="after the click, wait until the page reaches this state (e.g. a form submitted)",
        examples=["load"],
    )
    timeout_s: float | None = timeout_field()


class FillConfig(BrowserConfig):
    selector: str = selector_field("#email", "input[name=q]")
    value: str = Field(
        max_length=100_000,
        description="the text to type; replaces what the field holds",
        examples=["{{ input.email }}"],
    )
    press_enter: bool = Field(default=False, description="press Enter afterwards (submits most forms)", examples=[True])
    timeout_s: float | None = timeout_field()

    @field_validator("value", mode="before")
    @classmethod
    def _scalar_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class WaitForConfig(BrowserConfig):
    selector: str = selector_field(".results li", "text=Order confirmed")
    state: Literal["visible", "attached", "hidden", "detached"] = Field(
        default="visible",
        description="wait until an element matching the selector is in this state",
        examples=["visible", "hidden"],
    )
    timeout_s: float | None = timeout_field()


class FieldSpec(BrowserConfig):
    selector: str | None = Field(
        default=None, max_length=2000, description="inside the record's element; the element itself when unset"
    )
    attribute: str | None = Field(default=None, max_length=200, description="read this attribute instead of the text")


class ExtractConfig(BrowserConfig):
    selector: str = selector_field("h1", "table.results tr")
    attribute: str | None = Field(
        default=None,
        max_length=200,
        description="read this attribute (`href`, `src`, `value`) instead of the text",
        examples=["href"],
    )
    all: bool = Field(
        default=False, description="every matching element, as a list, instead of the first", examples=[True]
    )
    fields: dict[str, FieldSpec | str] | None = Field(
        default=None,
        description="a list of records, one per element matching `selector`: each field's selector (or "
        "{selector, attribute}) is read inside that element",
        examples=[{"name": "td.name", "link": {"selector": "a", "attribute": "href"}}],
    )
    trim: bool = Field(default=True, description="strip whitespace around texts", examples=[True])
    timeout_s: float | None = timeout_field()

    @model_validator(mode="after")
    def _one_shape(self) -> ExtractConfig:
        if self.fields is not None:
            if not self.fields:
                raise ValueError("fields must name at least one field")
            if self.attribute is not None:
                raise ValueError("attribute applies to a single value; put it on each field instead")
        return self

    def field_specs(self) -> dict[str, dict[str, str | None]]:
        return {
            name: {"selector": spec, "attribute": None} if isinstance(spec, str) else spec.model_dump()
            for name, spec in (self.fields or {}).items()
        }


class ScreenshotConfig(BrowserConfig):
    full_page: bool = Field(
        default=False, description="the whole scrollable page instead of the viewport", examples=[True]
    )
    selector: str | None = Field(default=None, max_length=2000, description="only this element", examples=["#chart"])
    timeout_s: float | None = timeout_field()


class EvaluateConfig(BrowserConfig):
    expression: str = Field(
        min_length=1,
        max_length=100_000,
        description="JavaScript run in the page: an expression (`document.title`) or a function "
        "(`(arg) => arg.n * 2`), which receives `arg`",
        examples=["document.title", "(arg) => [...document.querySelectorAll(arg.selector)].length"],
    )
    arg: Any = Field(
        default=None,
        description="JSON handed to a function expression; pass data here, not in the code",
        examples=[{"selector": ".item"}],
    )
    timeout_s: float | None = timeout_field()
