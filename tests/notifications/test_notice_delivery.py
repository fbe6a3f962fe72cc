"""Delivery against a real aiosmtpd server: exactly once, server down, rejected recipient, file transport."""

from __future__ import annotations

from datetime import UTC, timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from notice_factories import PAYLOADS, T0, notice
from notice_support import add, free_port, smtp_config

from models.db import session
from models.tables import Notice
from notifications import outbox
from notifications.config import MailConfig
from notifications.errors import MailConfigError
from notifications.kinds import kind_label
from notifications.sender import deliver_pending

NOW = T0 + timedelta(minutes=5)


def _rows(engine) -> dict[int, Notice]:
    with session(engine) as s:
        return {n.id: n for n in s.execute(sa.select(Notice)).scalars()}


def _many(problems, count, **kw):
    kinds = [k for k in PAYLOADS if k not in ("digest", "dispatch")]
    return [
        notice(problems[i % len(problems)], kinds[i % len(kinds)], payload=PAYLOADS[kinds[i % len(kinds)]], **kw)
        for i in range(count)
    ]


def test_delivers_every_notice_exactly_once(engine, problems, smtpd, tmp_path):
    ids = add(engine, _many(problems, 60))
    stats = deliver_pending(engine, smtp_config(smtpd.port, tmp_path), NOW, "w1")
    assert (stats.claimed, stats.sent, stats.retried, stats.failed, stats.stopped) == (60, 60, 0, 0, "")
    received = smtpd.message_ids()
    assert len(received) == 60 and set(received.values()) == {1}
    rows = _rows(engine)
    assert all(r.status == "sent" and r.sent_at is not None and r.attempts == 1 for r in rows.values())
    assert all(r.claimed_by is None for r in rows.values())
    assert sorted(int(m.split(".")[2]) for m in received) == sorted(ids)
    by_id = {int(m["X-Duban-Notice"]): env for m, env in zip(smtpd.messages(), smtpd.envelopes)}
    assert all(by_id[i] == ("duban@localhost", [rows[i].recipient_email]) for i in ids)
    # a second run finds nothing to do
    again = deliver_pending(engine, smtp_config(smtpd.port, tmp_path), NOW + timedelta(hours=1), "w1")
    assert again.claimed == 0 and len(smtpd.raw) == 60


def test_received_mail_decodes_with_chinese_headers(engine, problem, smtpd, tmp_path):
    add(engine, [notice(problem, "assignment", payload=PAYLOADS["assignment"])])
    deliver_pending(engine, smtp_config(smtpd.port, tmp_path), NOW, "w1")
    [msg] = smtpd.messages()
    assert smtpd.envelopes == [("duban@localhost", ["zhangsan@example.gov.cn"])]
    assert str(msg["Subject"]) == "【交办通知】WT-2024-0003 城区集中供热改造项目征地拆迁受阻"
    assert str(msg["To"]) == "张三 <zhangsan@example.gov.cn>"
    assert "请于春节前完成入户调查。" in msg.get_body(("plain",)).get_content()


def test_server_down_keeps_rows_pending_then_delivers_once(engine, problems, tmp_path):
    port = free_port()
    ids = add(engine, _many(problems, 30))
    config = smtp_config(port, tmp_path, backoff_base=60)
    stats = deliver_pending(engine, config, NOW, "w1")
    assert stats.sent == 0 and stats.failed == 0 and "无法连接邮件服务器" in stats.stopped
    rows = _rows(engine)
    assert sorted(rows) == sorted(ids)  # nothing lost
    for r in rows.values():
        assert r.status == "pending" and r.attempts == 0  # an outage does not use up attempts
        assert r.claimed_by is None and "无法连接邮件服务器" in r.last_error
        assert timedelta(seconds=59) < r.next_attempt_at - NOW < timedelta(seconds=65)
    # before the backoff has passed nothing is due
    assert deliver_pending(engine, config, NOW + timedelta(seconds=10), "w1").claimed == 0

    from notice_support import Mailbox

    box = Mailbox().start(port)
    try:
        stats = deliver_pending(engine, config, NOW + timedelta(minutes=2), "w1")
        assert stats.sent == 30
        received = box.message_ids()
        assert len(received) == 30 and set(received.values()) == {1}
    finally:
        box.stop()
    assert {r.status for r in _rows(engine).values()} == {"sent"}


def test_rejected_recipient_does_not_stop_others_and_fails_after_max_attempts(engine, problems, smtpd, tmp_path):
    smtpd.reject["bad@example.gov.cn"] = "550 5.1.1 <bad@example.gov.cn>: Recipient address rejected"
    good = _many(problems, 20)
    bad = notice(problems[0], "warning", login="lisi", email="bad@example.gov.cn")
    add(engine, good[:10] + [bad] + good[10:])
    config = smtp_config(smtpd.port, tmp_path, max_attempts=3, backoff_base=60, backoff_max=3600)

    stats = deliver_pending(engine, config, NOW, "w1")
    assert (stats.sent, stats.retried, stats.failed) == (20, 1, 0)
    row = _rows(engine)[bad.id]
    assert row.status == "pending" and row.attempts == 1 and "550 5.1.1" in row.last_error
    assert timedelta(seconds=59) < row.next_attempt_at - NOW < timedelta(seconds=65)  # 60 s

    t = NOW + timedelta(seconds=61)
    stats = deliver_pending(engine, config, t, "w1")
    row = _rows(engine)[bad.id]
    assert (stats.claimed, stats.retried, row.attempts) == (1, 1, 2)
    assert timedelta(seconds=119) < row.next_attempt_at - t < timedelta(seconds=125)  # 120 s: exponential

    stats = deliver_pending(engine, config, t + timedelta(seconds=121), "w1")
    row = _rows(engine)[bad.id]
    assert stats.failed == 1 and row.status == "failed" and row.attempts == 3
    assert row.last_error.startswith("550 5.1.1 <bad@example.gov.cn>: Recipient address rejected")
    received = smtpd.message_ids()
    assert len(received) == 20 and set(received.values()) == {1}

    # an operator re-queues it; it gets the full number of attempts again
    assert outbox.retry(engine, bad.id, t + timedelta(hours=1)) == 1
    row = _rows(engine)[bad.id]
    assert (row.status, row.attempts) == ("pending", 0)
    assert outbox.retry(engine, None, t) == 0


def test_file_transport_writes_parseable_eml(engine, problems, tmp_path):
    ids = add(engine, _many(problems, 5))
    config = MailConfig(mail_dir=tmp_path / "mail")
    stats = deliver_pending(engine, config, NOW, "w1")
    assert stats.transport == "file" and stats.sent == 5
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert [f.name for f in files] == [f"notice-{i:08d}.eml" for i in ids]
    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    first = next(k for k in PAYLOADS if k not in ("digest", "dispatch"))  # the kind _many gives the first row
    assert str(msg["Subject"]).startswith(f"【{kind_label(first)}】") and msg["X-Duban-Notice"] == str(ids[0])
    assert "张三同志：" in msg.get_body(("plain",)).get_content()


def test_unrenderable_notice_fails_at_once_and_others_go(engine, problems, smtpd, tmp_path):
    ok = _many(problems, 3)
    broken = notice(problems[0], "assignment", email="张三@例子.中国")
    add(engine, ok + [broken])
    stats = deliver_pending(engine, smtp_config(smtpd.port, tmp_path), NOW, "w1")
    assert (stats.sent, stats.failed) == (3, 1)
    row = _rows(engine)[broken.id]
    assert row.status == "failed" and "ASCII" in row.last_error


def test_expired_claim_is_taken_over_and_repeated_crashes_end_in_failed(engine, problems, smtpd, tmp_path):
    config = smtp_config(smtpd.port, tmp_path, max_attempts=2, lease_seconds=300)
    [a, b] = add(engine, _many(problems, 2))
    wall = NOW  # real time, for leases; business time (``now``) may be anything, e.g. a replay
    token, rows = outbox.claim(engine, "dead-worker", wall, 10, config.lease)  # then "crashes"
    assert [r.id for r in rows] == [a, b] and all(r.status == "sending" for r in rows)
    later = wall + timedelta(seconds=60)
    assert deliver_pending(engine, config, later, "w2", wall=lambda: later).claimed == 0  # lease still held
    # a replay at a much later business time, at the same real time, must not take a live claim either
    assert deliver_pending(engine, config, NOW + timedelta(days=30), "w3", wall=lambda: later).claimed == 0
    with engine.begin() as conn:  # b has crashed its sender before: this expiry is its last chance
        conn.execute(outbox.T.update().where(outbox.T.c.id == b).values(attempts=2))
    expired = wall + timedelta(seconds=301)
    stats = deliver_pending(engine, config, expired, "w2", wall=lambda: expired)
    rows = _rows(engine)
    assert stats.sent == 1 and rows[a].status == "sent" and rows[a].attempts == 2
    assert rows[b].status == "failed" and rows[b].last_error == outbox.CRASHED_TOO_OFTEN


def test_limit_and_list_notices(engine, problems, smtpd, tmp_path):
    add(engine, _many(problems, 7))
    stats = deliver_pending(engine, smtp_config(smtpd.port, tmp_path, batch_size=2), NOW, "w1", limit=5)
    assert stats.sent == 5
    with session(engine) as s:
        assert outbox.status_counts(s) == {"sent": 5, "pending": 2}
        pending = outbox.list_notices(s, "pending")
        assert [p["status_label"] for p in pending] == ["待发送", "待发送"]
        assert pending[0]["problem_code"].startswith("WT-2024-") and pending[0]["kind_label"]
        assert len(outbox.list_notices(s)) == 7


def test_config_from_env_validates_and_names_the_key():
    config = MailConfig.from_env(
        {
            "DUBAN_SMTP_HOST": "smtp.example.gov.cn",
            "DUBAN_SMTP_SECURITY": "STARTTLS",
            "DUBAN_SMTP_USER": "duban",
            "DUBAN_SMTP_PASSWORD": "s3cret",
            "DUBAN_MAIL_FROM": "duban@example.gov.cn",
            "DUBAN_SMTP_CONCURRENCY": "8",
            "DUBAN_SMTP_MAX_ATTEMPTS": "7",
            "DUBAN_MAIL_DIR": "/tmp/x",
        }
    )
    assert (config.transport, config.port, config.security, config.concurrency, config.max_attempts) == (
        "smtp",
        587,
        "starttls",
        8,
        7,
    )
    assert config.domain == "example.gov.cn" and "s3cret" not in repr(config)
    default = MailConfig.from_env({})
    assert (default.transport, default.mail_from, default.from_name, str(default.mail_dir)) == (
        "file",
        "duban@localhost",
        "督办系统",
        "var/mail",
    )
    for env, key in [
        ({"DUBAN_SMTP_PORT": "abc"}, "DUBAN_SMTP_PORT"),
        ({"DUBAN_SMTP_SECURITY": "ssl"}, "DUBAN_SMTP_SECURITY"),
        ({"DUBAN_MAIL_FROM": "督办@例子"}, "DUBAN_MAIL_FROM"),
        ({"DUBAN_SMTP_CONCURRENCY": "0"}, "DUBAN_SMTP_CONCURRENCY"),
    ]:
        with pytest.raises(MailConfigError, match=key):
            MailConfig.from_env(env)


def test_long_run_renews_its_leases_so_no_one_else_takes_its_rows(engine, problems, smtpd, tmp_path):
    import threading
    import time
    from datetime import datetime

    add(engine, _many(problems, 8))
    smtpd.rcpt_delay = 0.15  # 8 messages on one connection: ~1.2 s, more than twice the lease
    config = smtp_config(smtpd.port, tmp_path, concurrency=1, lease_seconds=0.5)
    clock = lambda: datetime.now(UTC)  # noqa: E731 — a real clock, as the CLI passes
    done = {}
    sender = threading.Thread(target=lambda: done.update(stats=deliver_pending(engine, config, clock, "slow")))
    sender.start()
    assert smtpd.wait_for(1)  # the sender has claimed every row (one batch) and is sending
    stolen = []
    while sender.is_alive():
        _, rows = outbox.claim(engine, "thief", clock(), 10, config.lease)
        stolen += rows
        time.sleep(0.05)
    sender.join()
    assert not stolen and done["stats"].sent == 8
    assert len(smtpd.message_ids()) == 8 and set(smtpd.message_ids().values()) == {1}


def test_recipients_of_one_event_share_the_body_but_not_greeting_or_number(engine, problem):
    from models.tables import User
    from notifications.render import render_bytes

    with session(engine) as s:
        s.add(User(login="eve", name="<b>夏娃</b>", unit_id=1, role="staff", created_at=T0))
        s.commit()
    a = notice(problem, "escalation", payload=PAYLOADS["escalation"], level="county_leader")
    b = notice(
        problem,
        "escalation",
        payload=PAYLOADS["escalation"],
        level="county_leader",
        login="eve",
        email="eve@example.gov.cn",
        role="unit_head",
    )
    c = notice(
        problem,
        "escalation",
        payload=PAYLOADS["escalation"],
        level="county_leader",
        login="ghost",
        email="ghost@example.gov.cn",
        role="inspection_office",
    )
    add(engine, [a, b, c])
    with session(engine) as s:
        from notifications.context import ContextLoader

        loader = ContextLoader(s)
        msgs = [message_from_bytes(render_bytes(s, n, loader=loader), policy=policy.default) for n in (a, b, c)]
    assert len(loader.bodies) == 1  # rendered once for the three recipients
    texts = [m.get_body(("plain",)).get_content() for m in msgs]
    htmls = [m.get_body(("html",)).get_content() for m in msgs]
    assert texts[0].startswith("张三同志：") and texts[1].startswith("<b>夏娃</b>同志：")
    assert texts[2].startswith("县政府办督查室：")  # unknown login: addressed by role
    assert "&lt;b&gt;夏娃&lt;/b&gt;同志：" in htmls[1] and "<b>夏娃</b>" not in htmls[1]
    for m, n, text in zip(msgs, (a, b, c), texts):
        assert f"通知编号：{n.id}" in text and m["X-Duban-Notice"] == str(n.id)
        assert "\x00" not in text
    assert len({str(m["Subject"]) for m in msgs}) == 1


def test_a_421_affects_only_that_message_and_the_next_one_reconnects(engine, problems, smtpd, tmp_path):
    smtpd.reject["busy@example.gov.cn"] = "421 4.7.0 Too busy, try again later"
    busy = notice(problems[0], "warning", login="lisi", email="busy@example.gov.cn")
    others = _many(problems, 12)
    add(engine, [busy] + others)
    stats = deliver_pending(engine, smtp_config(smtpd.port, tmp_path, concurrency=1), NOW, "w1")
    assert (stats.sent, stats.retried, stats.failed, stats.stopped) == (12, 1, 0, "")
    row = _rows(engine)[busy.id]
    assert row.status == "pending" and row.attempts == 1 and row.last_error.startswith("421 4.7.0 Too busy")


class _NoEightBitMime:
    """A server that does not offer 8BITMIME (aiosmtpd's EHLO hook may rewrite the reply)."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [r for r in responses if "8BITMIME" not in r]


@pytest.mark.parametrize("offers_8bitmime", [True, False], ids=["8BITMIME", "7bit-only"])
def test_bodies_are_8bit_only_when_the_server_offers_8bitmime(engine, problem, tmp_path, offers_8bitmime):
    from notice_support import Mailbox

    box_cls = Mailbox if offers_8bitmime else type("SevenBitBox", (_NoEightBitMime, Mailbox), {})
    box = box_cls().start()
    try:
        add(engine, [notice(problem, "assignment", payload=PAYLOADS["assignment"])])
        stats = deliver_pending(engine, smtp_config(box.port, tmp_path), NOW, "w1")
        [raw] = box.raw
    finally:
        box.stop()
    assert stats.sent == 1
    assert raw.isascii() is not offers_8bitmime  # UTF-8 on the wire only when announced
    msg = message_from_bytes(raw, policy=policy.default)
    cte = {part["Content-Transfer-Encoding"] for part in msg.iter_parts()}
    assert cte == ({"8bit"} if offers_8bitmime else {"base64"})
    text = msg.get_body(("plain",)).get_content()
    assert text.startswith("张三同志：") and "请于春节前完成入户调查。" in text
