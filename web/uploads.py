"""Receiving files: a streaming ``multipart/form-data`` reader that writes each file straight into a staging
batch (``service.uploads``) while hashing and counting it, and stops reading the moment a limit is passed —
a file growing past the per-file limit is refused as soon as it does (HTTP 413). The whole body's limit is
the app's ``BodyLimit`` (``web.app``), which gives the routes below ``upload_body_limits`` instead of the
default: a declared Content-Length over it is refused before one byte of the body is read. Form fields are small
(64 KiB each) and may not contain NUL; the CSRF token must come before the first file, so a forged form is
refused before its files are received. Classifying the received files (decoding images, thumbnails) runs in
the thread pool.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from service.uploads import Batch, Part
from web.errors import CsrfFailed
from workflow.errors import DubanError, InvalidValue
from workflow.evidence import Limits

MAX_FIELD, MAX_FIELDS = 64 * 1024, 200
SLACK = 1024 * 1024  # what multipart framing and the form fields may add to the files themselves
# The routes that take files (pages and API), as ``WebSettings.route_body_limits`` patterns.
UPLOAD_ROUTES = (
    "/problems/new",
    "/problems/*/actions/*",
    "/inspections/new",
    "/import",
    "/api/v1/problems/*/attachments",
    "/api/v1/inspections",
)


def upload_body_limits(limits: Limits) -> tuple[tuple[str, int], ...]:
    """The body limit of every route that takes files: all of one action's files, plus the form around them."""
    return tuple((route, limits.max_total + SLACK) for route in UPLOAD_ROUTES)


class Fields:
    """The text fields of a form, in order (a name may repeat, as a multi-select's does)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self.files: list[tuple[str, Path, int]] = []  # (name as sent, staged path, size) when not classified

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in reversed(self.items):
            if key == name:
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self.items if k == name]

    def __contains__(self, name: object) -> bool:
        return any(k == name for k, _ in self.items)

    def as_dict(self) -> dict[str, str]:
        return dict(self.items)


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def receive(
    request: Request,
    batch: Batch,
    check_token: Callable[[str | None], None] | None = None,
    token_field: str = "",
    classify: bool = True,
) -> Fields:
    """Read the request's multipart body into ``batch`` (files) and the returned ``Fields``. With
    ``check_token``, the field ``token_field`` must arrive before any file and is checked when it does.
    ``classify=False`` keeps the files as received (``Fields.files``) for a caller that checks them itself."""
    ctype = request.headers.get("content-type", "")
    _, params = parse_options_header(ctype)
    boundary = params.get(b"boundary")
    if not ctype.lower().startswith("multipart/form-data") or not boundary:
        raise InvalidValue("上传文件须使用 multipart/form-data 表单", field="attachments", label="附件")

    fields = Fields()
    state: dict = {"headers": [], "name": b"", "value": b"", "part": None, "field": None, "token_seen": False}
    finished: list[Part] = []

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]
        if len(state["value"]) > 4096:
            raise InvalidValue("表单格式无效：头部过长", field="attachments")

    def on_header_end() -> None:
        state["headers"].append((state["name"].lower(), state["value"]))
        state["name"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        disposition = next((v for k, v in state["headers"] if k == b"content-disposition"), b"")
        state["headers"] = []
        _, options = parse_options_header(disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            if check_token is not None and not state["token_seen"]:
                raise CsrfFailed()
            raw = options[b"filename"].decode("utf-8", "replace")
            state["part"] = batch.part(raw) if raw.strip() else None  # "" = a file input left empty
            state["field"] = None
        else:
            if len(fields.items) >= MAX_FIELDS:
                raise InvalidValue("表单字段过多", field="form")
            state["part"], state["field"] = None, [name, bytearray()]

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["part"] is not None:
            state["part"].write(data[start:end])
        elif state["field"] is not None:
            buf = state["field"][1]
            buf.extend(data[start:end])
            if len(buf) > MAX_FIELD:
                raise InvalidValue(f"字段「{state['field'][0][:40]}」过长", field=state["field"][0][:40])

    def on_part_end() -> None:
        if state["part"] is not None:
            finished.append(state["part"])
        elif state["field"] is not None:
            name, buf = state["field"]
            value = buf.decode("utf-8", "replace")
            if "\x00" in name or "\x00" in value:
                raise InvalidValue(f"字段「{name[:40].replace(chr(0), '')}」含有不允许的控制字符")
            fields.items.append((name, value))
            if check_token is not None and name == token_field:
                check_token(value)
                state["token_seen"] = True
        state["part"], state["field"] = None, None

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        raise InvalidValue("表单格式无效（multipart 数据不完整或已损坏）", field="attachments", label="附件") from None
    if check_token is not None and not state["token_seen"]:
        check_token(None)

    if not classify:
        for part in finished:
            path, size, _ = part.finish()
            fields.files.append((part.raw_name, path, size))
        return fields

    def accept() -> None:
        for part in finished:
            batch.add_part(part)

    await run_in_threadpool(accept)
    return fields


class Received:
    """A posted form as a page handler sees it: its fields, the staged files (or None), and the refusal of a
    file (wrong type, too large…) to show on the page instead of the files."""

    def __init__(self, form, batch: Batch | None = None, error: DubanError | None = None):
        self.form, self.batch, self.error = form, batch, error


@asynccontextmanager
async def received_form(request: Request):
    """The posted form — multipart with its files staged (the CSRF token checked before the first file), or
    a plain one. The staging folder is removed when the handler is done, whatever happened."""
    from web.auth import check_csrf, ctx_of, read_form, require_viewer

    if not is_multipart(request):
        # The route's larger body limit is for files: a plain form declaring more than the default is refused.
        settings = ctx_of(request).settings
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > settings.max_body_bytes:
            from web.app import BodyTooLarge

            raise BodyTooLarge(settings.max_body_bytes)
        yield Received(await read_form(request))
        return
    require_viewer(request)  # nobody signed out gets to send files
    ctx = ctx_of(request)
    batch = ctx.service.store.batch(ctx.limits)
    try:
        try:
            fields = await receive(request, batch, lambda token: check_csrf(request, token), "csrf_token")
        except CsrfFailed:
            raise
        except DubanError as exc:
            yield Received(Fields(), None, exc)
            return
        yield Received(fields, batch)
    finally:
        batch.close()
