"""An HTTP SMS gateway described entirely by settings, so that a county's 政务短信平台 is wired without code.

Method, URL, header values and body are Jinja2 templates, rendered in a ``SandboxedEnvironment`` with
``StrictUndefined`` over::

    phone   the recipient's 11-digit number        title   the notice's title line
    text    the body, cut to ``max_chars``         url     the link to the problem page ("" when none)
    kind    the notice kind (``overdue``, …)       credentials.NAME   a value from ``credentials``

The body is either a mapping field → template, sent as a form (``body_format="form"``) or as a flat JSON
object of strings (``"json"``), which needs no escaping; or one template producing a JSON document
(``"json"`` only; write values with ``|tojson``). Success is HTTP 2xx and, when ``success_when`` is set
(``code == "0"``, ``result.status == 0``), that field of the JSON answer equal to the value (compared as
text, so ``0`` matches ``"0"``). Values in ``credentials`` (API keys, passwords) are never shown in errors.

Answers: 2xx and success → sent; 2xx, condition false → failed (the gateway refused this message);
2xx but not JSON while a condition is set → retry (ambiguous); 408, 429 (``Retry-After`` honoured), 5xx,
timeout, connection refused → retry; other statuses → failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from notifications.channels import markdown
from notifications.channels.base import (
    DEFAULT_RETRY,
    ChannelMessage,
    DeliveryResult,
    Scrubber,
    post,
    rate_key,
    redact,
    retry_after,
)
from notifications.channels.validation import validate_phone, validate_webhook_url
from workflow.errors import InvalidValue

SERVICE = "短信网关"
ONE_SMS = 70  # characters of one Chinese SMS (longer texts are split and billed per part)
METHODS = ("GET", "POST", "PUT")
PARTS = {"method": "请求方法", "url": "网址", "headers": "请求头", "body": "请求体"}
SAMPLE = ChannelMessage(
    title="关于“阳城县某项目土地手续”问题的超期提醒",
    text='该问题已超过办结时限 3 个工作日。\n请于今日内反馈办理情况 & 说明原因（含 "引号"）。',
    url="https://duban.example.gov.cn/problems/WT-2024-0001?tab=log",
    kind="overdue",
)
SAMPLE_PHONE = "13800138000"
_SUCCESS = re.compile(r"^\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*==\s*(.+?)\s*$")


@dataclass(frozen=True)
class SmsGatewayConfig:
    url: str = field(repr=False)  # template; may carry credentials in its query
    method: str = "POST"  # template
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # values are templates
    body: str | Mapping[str, str] | None = None
    body_format: Literal["form", "json"] = "form"
    success_when: str | None = None  # e.g. 'code == "0"'
    max_chars: int = ONE_SMS  # characters of ``text``; raise it when the gateway sends long SMS
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 10.0
    allow_http: bool = False  # plain http (a gateway on the county intranet, tests)


@dataclass(frozen=True)
class SmsRequest:
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None


class SmsGateway:
    """Compiled settings of one gateway. ``channel(phone)`` is the ``Channel`` for one recipient."""

    def __init__(self, config: SmsGatewayConfig):
        self.config = config
        self.env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.success = parse_success_when(config.success_when)
        if config.body_format not in ("form", "json"):
            raise InvalidValue(
                f"请求体格式「{config.body_format}」无效，可选：form、json",
                field="body_format",
                value=config.body_format,
            )
        if isinstance(config.body, str) and config.body_format == "form":
            raise InvalidValue(
                "表单格式的请求体须按“字段名 → 模板”逐项填写，不能是一整段模板", field="body", value=config.body
            )
        if not isinstance(config.max_chars, int) or config.max_chars < 10:
            raise InvalidValue(
                f"短信字数上限「{config.max_chars}」无效：须为不小于 10 的整数",
                field="max_chars",
                value=config.max_chars,
            )
        if not config.timeout > 0:
            raise InvalidValue(f"超时「{config.timeout}」无效：须为正的秒数", field="timeout", value=config.timeout)
        self.scrub = Scrubber([*config.credentials.values()])
        self.templates = self._compile()
        self.request(SAMPLE_PHONE, SAMPLE)  # a gateway that cannot render a sample is never built

    def channel(self, phone: str) -> SmsChannel:
        return SmsChannel(self, validate_phone(phone))

    # -- templates --------------------------------------------------------------------------------------
    def _compile(self) -> dict[str, Any]:
        c = self.config

        def compile_one(part: str, source: str, name: str = ""):
            try:
                return self.env.from_string(source)
            except TemplateError as exc:
                raise _template_error(part, name, exc, self.scrub) from None

        body: Any = None
        if isinstance(c.body, str):
            body = compile_one("body", c.body)
        elif c.body is not None:
            body = {name: compile_one("body", source, name) for name, source in c.body.items()}
        return {
            "method": compile_one("method", c.method),
            "url": compile_one("url", c.url),
            "headers": {name: compile_one("headers", source, name) for name, source in c.headers.items()},
            "body": body,
        }

    def context(self, phone: str, message: ChannelMessage) -> dict[str, Any]:
        text = markdown.plain(message.text).strip()
        if len(text) > self.config.max_chars:
            text = text[: self.config.max_chars - 1] + "…"
        return {
            "phone": phone,
            "text": text,
            "title": markdown.plain(message.title).replace("\n", " ").strip(),
            "url": message.url or "",
            "kind": message.kind,
            "credentials": dict(self.config.credentials),
        }

    def request(self, phone: str, message: ChannelMessage) -> SmsRequest:
        """The HTTP request for one message; raises ``InvalidValue`` (field ``template``) when the templates
        do not render into a valid request."""
        c, t = self.config, self.templates
        ctx = self.context(phone, message)
        method = self._render("method", "", t["method"], ctx).strip().upper()
        if method not in METHODS:
            raise InvalidValue(
                f"短信网关的请求方法模板渲染为「{method}」，可选：{'、'.join(METHODS)}", field="template", value=method
            )
        url = self._render("url", "", t["url"], ctx).strip()
        try:
            validate_webhook_url(url, "sms", allow_http=c.allow_http)
        except InvalidValue as exc:
            raise InvalidValue(
                f"短信网关的网址模板渲染结果无效：{exc.message}", field="template", value=redact(url)
            ) from None
        headers: dict[str, str] = {}
        for name, template in t["headers"].items():
            value = self._render("headers", name, template, ctx).strip()
            if "\n" in value or "\r" in value or not value.isascii() or not name.isascii() or not name.strip():
                raise InvalidValue(
                    f"短信网关的请求头「{name}」渲染后含换行或非 ASCII 字符（请求头只能是一行 ASCII 文字）",
                    field="template",
                    value=name,
                )
            headers[name.strip()] = value
        content = self._body(ctx)
        if content is not None and method == "GET":
            raise InvalidValue("短信网关使用 GET 时不能有请求体，请把参数写进网址模板", field="template", value=method)
        if content is not None and not any(h.lower() == "content-type" for h in headers):
            json_type = "application/json; charset=utf-8"
            headers["Content-Type"] = json_type if c.body_format == "json" else "application/x-www-form-urlencoded"
        return SmsRequest(method, url, headers, content)

    def _body(self, ctx: dict[str, Any]) -> bytes | None:
        c, template = self.config, self.templates["body"]
        if template is None:
            return None
        if not isinstance(template, dict):  # one JSON template
            rendered = self._render("body", "", template, ctx)
            try:
                json.loads(rendered)
            except json.JSONDecodeError as exc:
                raise InvalidValue(
                    f"短信网关的请求体模板渲染后不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）；"
                    "文字变量请写成 {{ text|tojson }} 的形式",
                    field="template",
                    value=self.scrub(rendered[:200]),
                ) from None
            return rendered.encode("utf-8")
        fields = {name: self._render("body", name, tpl, ctx) for name, tpl in template.items()}
        if c.body_format == "json":
            return json.dumps(fields, ensure_ascii=False).encode("utf-8")
        return urlencode(fields).encode("ascii")

    def _render(self, part: str, name: str, template, ctx: dict[str, Any]) -> str:
        try:
            return template.render(ctx)
        except TemplateError as exc:
            raise _template_error(part, name, exc, self.scrub) from None

    # -- answers ----------------------------------------------------------------------------------------
    def classify(self, response: httpx.Response) -> DeliveryResult:
        status = response.status_code
        answer = self.scrub.answer(response.content)
        if status >= 500 or status in (408, 429):
            after = retry_after(response) or DEFAULT_RETRY
            return DeliveryResult.retry_later(
                after, f"{SERVICE}暂时不可用：HTTP {status}", status=status, answer=answer
            )
        if not 200 <= status < 300:
            return DeliveryResult.failed(f"{SERVICE}拒绝了请求：HTTP {status}", status=status, answer=answer)
        if self.success is None:
            return DeliveryResult.sent(status=status, answer=answer)
        path, expected = self.success
        try:
            data = json.loads(response.content)
        except ValueError:
            reason = f"{SERVICE}的应答不是 JSON，无法判断是否发送成功（应满足 {self.config.success_when}）"
            return DeliveryResult.retry_later(DEFAULT_RETRY, reason, status=status, answer=answer, ambiguous=True)
        found, actual = lookup(data, path)
        if found and same_value(actual, expected):
            return DeliveryResult.sent(status=status, answer=answer)
        shown = json.dumps(actual, ensure_ascii=False) if found else "（无此字段）"
        reason = f"{SERVICE}未接受该短信：{'.'.join(path)} 为 {shown}，应为 {json.dumps(expected, ensure_ascii=False)}"
        return DeliveryResult.failed(self.scrub(reason), status=status, answer=answer)


class SmsChannel:
    """One recipient behind a gateway."""

    kind = "sms"

    def __init__(self, gateway: SmsGateway, phone: str):
        self.gateway = gateway
        self.phone = phone
        self.rate_key = rate_key(self.kind, phone)

    async def send(self, client: httpx.AsyncClient, message: ChannelMessage) -> DeliveryResult:
        g = self.gateway
        try:
            req = g.request(self.phone, message)
        except InvalidValue as exc:  # validated at load, so only a message the templates cannot take
            return DeliveryResult.failed(g.scrub(exc.message))
        scrub = Scrubber([*g.scrub.secrets, req.url])
        response = await post(
            client,
            req.method,
            req.url,
            content=req.content,
            headers=req.headers,
            timeout=g.config.timeout,
            scrub=scrub,
            service=SERVICE,
        )
        if isinstance(response, DeliveryResult):
            return response
        return g.classify(response)


# -- settings helpers -------------------------------------------------------------------------------------


def validate_template(config: SmsGatewayConfig) -> SmsRequest:
    """Compile the templates and render a sample message; returns the sample request (for the settings page)
    or raises ``InvalidValue`` (``field="template"`` for template errors) with a Chinese message."""
    gateway = SmsGateway(config)
    return gateway.request(SAMPLE_PHONE, SAMPLE)


def parse_success_when(condition: str | None) -> tuple[tuple[str, ...], Any] | None:
    """``'code == "0"'`` → ``(("code",), "0")``; the value is a JSON literal."""
    if condition is None or not condition.strip():
        return None
    match = _SUCCESS.match(condition)
    error = InvalidValue(
        f'成功条件「{condition}」无效：应形如 code == "0" 或 result.status == 0（字段路径 == JSON 值）',
        field="success_when",
        value=condition,
    )
    if not match:
        raise error
    try:
        expected = json.loads(match.group(2))
    except ValueError:
        raise error from None
    if isinstance(expected, dict | list):
        raise error
    return tuple(match.group(1).split(".")), expected


def lookup(data: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    for step in path:
        if isinstance(data, dict) and step in data:
            data = data[step]
        elif isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        else:
            return False, None
    return True, data


def same_value(actual: Any, expected: Any) -> bool:
    """Equal, or equal as text when both are scalars (``0`` and ``"0"``; ``true`` and ``"true"``)."""
    if actual == expected and type(actual) is type(expected):
        return True
    if isinstance(actual, dict | list) or isinstance(expected, dict | list) or actual is None or expected is None:
        return False
    return _as_text(actual) == _as_text(expected)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _template_error(part: str, name: str, exc: TemplateError, scrub: Scrubber) -> InvalidValue:
    where = PARTS[part] + (f"「{name}」" if name else "")
    detail = str(getattr(exc, "message", None) or exc)
    detail = re.sub(
        r"'(\w+)' is undefined", r"未定义的变量 \1（可用：phone、text、title、url、kind、credentials）", detail
    )
    lineno = getattr(exc, "lineno", None)
    at = f"第 {lineno} 行：" if lineno else ""
    message = f"短信网关的{where}模板有误：{at}{detail}"
    return InvalidValue(scrub(message), field="template", value=where)
