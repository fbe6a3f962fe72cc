"""Mail notices: render outbox rows (``models.tables.Notice``) and deliver them at least once.

Import the module you need; this package imports nothing at import time (``duban --help`` stays fast).

- ``config``    — ``MailConfig.from_env()``: ``DUBAN_SMTP_*`` / ``DUBAN_MAIL_*`` settings.
- ``render``    — ``render(session, notice) -> EmailMessage``; ``render_bytes`` (what is sent).
- ``preview``   — ``preview(session, problem_code)``: a problem's pending notices as plain dicts.
- ``outbox``    — claim / record / ``retry`` / ``list_notices`` on the notice table (several workers safe).
- ``sender``    — ``deliver_pending(engine, config, now, worker_id)``: claim, render, send, record.
- ``transport`` — a pool of reused aiosmtplib connections, or ``.eml`` files when no SMTP host is set.
- ``context``, ``mime``, ``kinds``, ``errors`` — template data, the MIME writer, labels, exceptions.
"""
