"""Webhook bodies: read the raw bytes (at most 1 MiB) and parse them by their declared Content-Type.

Reading and parsing are separate steps, so a signature can be checked over the exact raw bytes
before anything is parsed or created.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api.errors import ApiError

MAX_BODY_BYTES = 1024 * 1024


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise ApiError(400, "bad_request", "Content-Length is not a number")
        if int(declared) > MAX_BODY_BYTES:
            raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _too_large()
    return bytes(body)


async def parse_body(request: Request, raw: bytes) -> Any:
    """The body as the run's input sees it; 400 when it doesn't parse, 415 for other content types."""
    declared = request.headers.get("content-type")
    if not declared:
        if raw:
            raise _unsupported("a body needs a Content-Type")
        return None
    media_type, _, parameters = declared.partition(";")
    media_type = media_type.strip().lower()
    if media_type == "application/json":
        return _json_body(raw)
    if media_type == "application/x-www-form-urlencoded":
        return _form_body(raw)
    if media_type == "multipart/form-data":
        return await _multipart_body(request, raw)
    if media_type == "text/plain":
        return _text_body(raw, _charset(parameters))
    raise _unsupported(f"Content-Type {media_type or declared!r} is not accepted")


def fields(pairs: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Name -> value, or a list of values when a name repeats."""
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name not in found:
            found[name] = value
        elif isinstance(found[name], list):
            found[name].append(value)
        else:
            found[name] = [found[name], value]
    return found


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")


def _unsupported(message: str) -> ApiError:
    return ApiError(
        415,
        "unsupported_media_type",
        message + "; send application/json, application/x-www-form-urlencoded, multipart/form-data or text/plain",
    )


def _json_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_request", "the body is not valid JSON") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _form_body(raw: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=1000)
    except ValueError:  # also UnicodeDecodeError
        raise ApiError(400, "bad_request", "the form body is not valid UTF-8 form data") from None
    return fields(pairs)


async def _multipart_body(request: Request, raw: bytes) -> dict[str, Any]:
    async def replay() -> AsyncIterator[bytes]:
        yield raw

    try:
        form = await MultiPartParser(request.headers, replay(), max_files=10, max_fields=1000).parse()
    except MultiPartException as exc:
        raise ApiError(400, "bad_request", f"the multipart body is invalid: {exc.message}") from None
    has_files = any(isinstance(value, UploadFile) for _, value in form.multi_items())
    if has_files:
        await form.close()
        raise _unsupported("file uploads are not accepted")
    return fields((name, str(value)) for name, value in form.multi_items())


def _charset(parameters: str) -> str:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"') or "utf-8"
    return "utf-8"


def _text_body(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset)
    except (LookupError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", f"the body is not valid {charset} text") from None
