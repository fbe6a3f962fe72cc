"""Errors of the mail side. The class docstring is the default (Chinese) message."""

from __future__ import annotations


class NoticeError(Exception):
    """通知处理失败。"""

    code = "notice_error"

    def __init__(self, message: str | None = None):
        self.message = message or (self.__doc__ or "").strip()
        super().__init__(self.message)


class MailConfigError(NoticeError):
    """邮件配置无效。"""

    code = "mail_config"


class RenderError(NoticeError):
    """通知无法生成邮件（数据缺失或收件地址无效），重试不会改变结果。"""

    code = "render_error"


class ProblemNotFound(NoticeError):
    """找不到该问题编号。"""

    code = "not_found"


class DeliveryError(NoticeError):
    """邮件发送失败。

    ``reason`` is what goes to ``Notice.last_error`` (the server's reply when there is one).
    """

    code = "delivery_error"

    def __init__(self, message: str | None = None, *, smtp_code: int | None = None):
        super().__init__(message)
        self.smtp_code = smtp_code


class Rejected(DeliveryError):
    """邮件服务器拒收了这封邮件（对这一封有效，不影响其他邮件）。"""

    code = "rejected"


class Unreachable(DeliveryError):
    """无法连接邮件服务器，或连接中断（对所有邮件有效，稍后重试）。"""

    code = "unreachable"
