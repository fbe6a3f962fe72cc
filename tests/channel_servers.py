"""Real HTTP servers for the channel tests: a WeCom group robot, a DingTalk custom robot and an SMS gateway.

Each runs ``http.server.ThreadingHTTPServer`` (HTTP/1.1, keep-alive) on 127.0.0.1 port 0 in a background
thread and answers as the real service documents it; the code under test talks to it exactly as to the
real service, only the base URL differs. Each records every request (``requests``) and every message it
accepted (``accepted``), so tests can assert exactly-once delivery. Time (rate windows, DingTalk's
timestamp check) comes from an injected clock returning aware datetimes, so tests never sleep.

A slow service: ``delay`` seconds between judging a request (a message it accepts is already posted to the
group and recorded in ``accepted``) and writing the answer — the window in which a sender that dies has had
its message delivered without learning it. ``wait_accepted(n)`` waits (real time, bounded) for n accepted.

Faults, for the next requests in order: ``fail_next("500" | "hang" | "garbage" | "close", times=1)`` —
an HTTP 500, no answer until the server stops, a 200 whose body is not JSON, the connection closed
without an answer.

The DingTalk server verifies signatures with its own implementation of DingTalk's documented algorithm
(not the client's), so a test that passes shows the client signs as DingTalk expects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULTS = ("500", "hang", "garbage", "close")
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: datetime

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("ascii"), keep_blank_values=True).items()}


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})  # dict/list → JSON, bytes as is
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services
    # One write per answer and no Nagle delay: otherwise headers and body leave in two segments and the
    # client's delayed ACK adds ~40 ms to every request.
    wbufsize = -1
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.server.owner._dispatch(self)  # type: ignore[attr-defined]

    do_GET = do_PUT = do_POST

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — quiet
        pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class ProtocolServer:
    """What the three servers share: lifecycle, request recording, injected faults."""

    def __init__(self, clock: Clock = system_clock):
        self.clock = clock
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)  # notified when a message is accepted
        self.delay = 0.0  # seconds before each answer is written (a slow service)
        self.requests: list[Request] = []
        self.accepted: list[dict[str, Any]] = []
        self.faults: deque[str] = deque()
        self.released = threading.Event()  # ends "hang" faults
        self.httpd: _HTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> ProtocolServer:
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.owner = self  # type: ignore[attr-defined]
        self.httpd, self.port = httpd, httpd.server_address[1]
        self.thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_accepted(self, count: int, timeout: float = 20.0) -> bool:
        """Wait until the server has accepted ``count`` messages (False after ``timeout`` seconds)."""
        with self.changed:
            return self.changed.wait_for(lambda: len(self.accepted) >= count, timeout)

    def fail_next(self, mode: str, times: int = 1) -> None:
        if mode not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}")
        with self.lock:
            self.faults.extend([mode] * times)

    # -- dispatch ---------------------------------------------------------------------------------------
    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        parts = urlsplit(h.path)
        request = Request(
            h.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in h.headers.items()},
            body,
            self.clock(),
        )
        with self.lock:
            self.requests.append(request)
            fault = self.faults.popleft() if self.faults else None
        if fault == "hang":
            self.released.wait(60)
            h.close_connection = True
            return
        if fault == "close":
            h.close_connection = True
            return
        if fault == "500":
            answer = Answer(500, b"Internal Server Error", {"Content-Type": "text/plain"})
        elif fault == "garbage":
            answer = Answer(200, b"<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"})
        else:
            with self.lock:  # one request at a time through the protocol logic: windows stay exact
                answer = self.handle(request)
                self.changed.notify_all()
        if self.delay:
            time.sleep(self.delay)
        data = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode("utf-8")
        h.send_response(answer.status)
        headers = {"Content-Type": "application/json; charset=UTF-8", **answer.headers}
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def handle(self, request: Request) -> Answer:  # pragma: no cover — overridden
        raise NotImplementedError

    def _epoch(self) -> float:
        return self.clock().timestamp()


def _errcode(code: int, message: str) -> Answer:
    return Answer(200, {"errcode": code, "errmsg": message})


class _Window:
    """Per-key sliding window of accepted sends (the servers' own, independent of the client's limiter)."""

    def __init__(self, limit: int | None, period: float = 60.0):
        self.limit, self.period = limit, period
        self.sent: dict[str, deque[float]] = {}

    def full(self, key: str, now: float) -> bool:
        sent = self.sent.setdefault(key, deque())
        while sent and sent[0] <= now - self.period:
            sent.popleft()
        return self.limit is not None and len(sent) >= self.limit

    def record(self, key: str, now: float) -> None:
        self.sent.setdefault(key, deque()).append(now)


class WeComRobotServer(ProtocolServer):
    """``POST /cgi-bin/webhook/send?key=KEY``; robots are added with ``add_robot(key)``."""

    PATH = "/cgi-bin/webhook/send"
    LIMITS = {"markdown": 4096, "text": 2048}

    def __init__(self, clock: Clock = system_clock, *, rate_limit: int | None = 20, markdown: bool = True):
        super().__init__(clock)
        self.keys: set[str] = set()
        self.window = _Window(rate_limit)
        self.markdown = markdown  # False: answer markdown with 40008, as a group that does not support it

    def add_robot(self, key: str) -> str:
        self.keys.add(key)
        return f"{self.base_url}{self.PATH}?key={key}"

    def handle(self, r: Request) -> Answer:
        hint = ", hint: [1700000000000000000], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e="
        if r.path != self.PATH or r.method != "POST":
            return Answer(404, b"not found", {"Content-Type": "text/plain"})
        key = (r.query.get("key") or [""])[0]
        if key not in self.keys:
            return _errcode(93000, f"invalid webhook url{hint}93000")
        try:
            payload = json.loads(r.body.decode("utf-8"))
            msgtype = payload["msgtype"]
        except (ValueError, KeyError, TypeError):
            return _errcode(40035, f"invalid json request{hint}40035")
        if msgtype not in self.LIMITS or (msgtype == "markdown" and not self.markdown):
            return _errcode(40008, f"invalid message type{hint}40008")
        content = (payload.get(msgtype) or {}).get("content")
        if not isinstance(content, str) or not content:
            return _errcode(44004, f"empty content{hint}44004")
        limit = self.LIMITS[msgtype]
        if len(content.encode("utf-8")) > limit:
            return _errcode(40058, f"{msgtype}.content exceed max length {limit}. invalid Request Parameter{hint}40058")
        now = self._epoch()
        if self.window.full(key, now):
            return _errcode(45009, f"api freq out of limit{hint}45009")
        self.window.record(key, now)
        self.accepted.append({"key": key, "msgtype": msgtype, "content": content})
        return _errcode(0, "ok")


@dataclass
class DingTalkRobot:
    secret: str | None = None
    keywords: tuple[str, ...] = ()
    throttled_until: float = 0.0


class DingTalkRobotServer(ProtocolServer):
    """``POST /robot/send?access_token=T[&timestamp=MS&sign=S]``; robots are added with ``add_robot``."""

    PATH = "/robot/send"
    MAX_BYTES = 20000
    THROTTLE = 600.0  # seconds a robot is throttled after exceeding 20 messages a minute
    TYPES = ("text", "link", "markdown", "actionCard", "feedCard")

    def __init__(self, clock: Clock = system_clock, *, rate_limit: int | None = 20):
        super().__init__(clock)
        self.robots: dict[str, DingTalkRobot] = {}
        self.window = _Window(rate_limit)

    def add_robot(self, token: str, *, secret: str | None = None, keywords: tuple[str, ...] = ()) -> str:
        self.robots[token] = DingTalkRobot(secret, tuple(keywords))
        return f"{self.base_url}{self.PATH}?access_token={token}"

    @staticmethod
    def expected_sign(secret: str, timestamp: str) -> str:
        """base64(HmacSHA256(key=secret, msg=timestamp + "\\n" + secret)), before URL encoding."""
        string_to_sign = (timestamp + "\n" + secret).encode("utf-8")
        return base64.b64encode(hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha256).digest()).decode()

    def handle(self, r: Request) -> Answer:
        if r.path != self.PATH or r.method != "POST":
            return Answer(404, b"not found", {"Content-Type": "text/plain"})
        token = (r.query.get("access_token") or [""])[0]
        robot = self.robots.get(token)
        if robot is None:
            return _errcode(300001, "token is not exist")
        now = self._epoch()
        if robot.secret is not None:
            timestamp = (r.query.get("timestamp") or [""])[0]
            sign = (r.query.get("sign") or [""])[0]  # parse_qs has undone the URL encoding
            if not timestamp.isdigit() or abs(now * 1000 - int(timestamp)) > 3600 * 1000:
                return _errcode(310000, "invalid timestamp")
            if not hmac.compare_digest(sign, self.expected_sign(robot.secret, timestamp)):
                return _errcode(310000, "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]")
        try:
            payload = json.loads(r.body.decode("utf-8"))
            msgtype = payload["msgtype"]
        except (ValueError, KeyError, TypeError):
            return _errcode(40035, "invalid json")
        if msgtype not in self.TYPES:
            return _errcode(40035, f"不合法的参数 msgtype={msgtype}")
        body = payload.get(msgtype) or {}
        if msgtype == "markdown":
            title, text = body.get("title"), body.get("text")
            if not title or not text:
                return _errcode(40035, "缺少参数 markdown.title 或 markdown.text")
        else:
            title, text = "", json.dumps(body, ensure_ascii=False)
        if robot.keywords and not any(word in text for word in robot.keywords):
            return _errcode(310000, "keywords not in content")
        if len(text.encode("utf-8")) > self.MAX_BYTES:
            return _errcode(460101, f"message too long, exceed {self.MAX_BYTES} bytes")
        if now < robot.throttled_until:
            return _errcode(130101, "send too fast, exceed 20 times per minute")
        if self.window.full(token, now):
            robot.throttled_until = now + self.THROTTLE
            return _errcode(130101, "send too fast, exceed 20 times per minute")
        self.window.record(token, now)
        self.accepted.append({"token": token, "msgtype": msgtype, "title": title, "text": text})
        return _errcode(0, "ok")


class SmsGatewayServer(ProtocolServer):
    """Any path and method. Answers come from ``answer_next(...)`` in order, then ``default`` (HTTP 200
    ``{"code": "0", "msg": "ok"}``). A request is ``accepted`` when its answer is marked ``accept``."""

    def __init__(self, clock: Clock = system_clock):
        super().__init__(clock)
        self.default = (Answer(200, {"code": "0", "msg": "ok"}), True)
        self.answers: deque[tuple[Answer, bool]] = deque()

    def answer_next(self, answer: Answer, *, accept: bool = False, times: int = 1) -> None:
        with self.lock:
            self.answers.extend([(answer, accept)] * times)

    def handle(self, r: Request) -> Answer:
        answer, accept = self.answers.popleft() if self.answers else self.default
        if accept:
            self.accepted.append({"method": r.method, "path": r.path, "query": r.query, "body": r.body})
        return answer
