"""Typed errors. Each carries a stable ``code`` (for the JSON API and scripts) and a Chinese message.

The class docstring is the default message; raise with a specific message that names the field, the
value and what is allowed wherever that is known.
"""

from __future__ import annotations


class DubanError(Exception):
    """操作失败。"""

    code = "error"
    exit_code = 1

    def __init__(
        self, message: str | None = None, *, field: str | None = None, value: object = None, label: str | None = None
    ):
        self.message = message or (self.__doc__ or "").strip()
        # ``field`` is the input's stable API name ("unit", "deadline"); each front end words it for its
        # user (a CLI flag, a form label). ``label`` is how the message names it (责任单位), so a front end
        # can point at it there. ``value`` is what was given, shortened for display.
        self.field = field
        self.label = label
        self.value = None if value is None else _shown(value)
        super().__init__(self.message)

    def as_dict(self) -> dict:
        """The JSON form: ``{code, field, value, message}``."""
        return {"code": self.code, "field": self.field, "value": self.value, "message": self.message}


def _shown(value: object, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class InvalidValue(DubanError):
    """输入的值无效。"""

    code = "invalid_value"
    exit_code = 2


class MissingField(InvalidValue):
    """缺少必填项。"""

    code = "missing_field"


class NotFound(DubanError):
    """找不到对象。"""

    code = "not_found"
    exit_code = 3


class PermissionDenied(DubanError):
    """当前用户无权执行此操作。"""

    code = "permission_denied"
    exit_code = 4


class InvalidTransition(DubanError):
    """当前状态下不能执行此操作。"""

    code = "invalid_transition"
    exit_code = 5


class StaleVersion(DubanError):
    """该问题已被他人修改，请刷新后重试。"""

    code = "stale_version"
    exit_code = 6


class RulesError(DubanError):
    """规则文件有误。"""

    code = "rules_error"
    exit_code = 7


class CalendarError(InvalidValue):
    """日期或期限无效。"""

    code = "calendar_error"


class Conflict(DubanError):
    """与已有数据冲突。"""

    code = "conflict"
    exit_code = 8
