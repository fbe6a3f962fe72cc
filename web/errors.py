"""One mapping from typed errors to HTTP statuses, used by every page and every API endpoint.

JSON body: ``{"code", "field", "value", "message"}`` — the code is ``workflow.errors``'s; ``field`` names the
input concerned by its API name (or null).
"""

from __future__ import annotations

from service.accounts import TooManyAttempts
from workflow.errors import (
    Conflict,
    DubanError,
    InvalidTransition,
    InvalidValue,
    NotFound,
    PermissionDenied,
    RulesError,
    StaleVersion,
)
from workflow.evidence import TooLarge


class Unauthenticated(DubanError):
    """请先登录。"""

    code = "unauthenticated"


class CsrfFailed(PermissionDenied):
    """表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。"""

    code = "csrf_failed"


# Order matters: subclasses before their bases.
STATUS: list[tuple[type, int]] = [
    (Unauthenticated, 401),
    (CsrfFailed, 403),
    (TooManyAttempts, 429),
    (StaleVersion, 409),
    (InvalidTransition, 409),
    (Conflict, 409),
    (NotFound, 404),
    (PermissionDenied, 403),
    (TooLarge, 413),
    (InvalidValue, 400),
    (RulesError, 500),
]


def status_for(exc: DubanError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def body(exc: DubanError) -> dict:
    """``{code, field, value, message}``: a stable code, the input concerned (its API name) and its value."""
    return exc.as_dict()


# Documented on every API operation (OpenAPI "responses").
ERROR_RESPONSES = {
    400: {"description": "输入无效（invalid_value、missing_field、calendar_error）"},
    401: {"description": "未登录或令牌无效（unauthenticated）"},
    403: {"description": "无权操作（permission_denied、csrf_failed）"},
    404: {"description": "对象不存在（not_found）"},
    409: {"description": "状态不允许、版本已变化或与已有数据冲突（invalid_transition、stale_version、conflict）"},
    413: {"description": "请求内容过大（payload_too_large）：JSON 和表单最多 1 MiB（DUBAN_MAX_BODY_BYTES）"},
    500: {"description": "服务器内部错误（internal_error）"},
}
UPLOAD_RESPONSES = {413: {"description": "上传的文件超过大小或数量上限（too_large）"}}

__all__ = [
    "TooManyAttempts",
    "Unauthenticated",
    "CsrfFailed",
    "STATUS",
    "status_for",
    "body",
    "ERROR_RESPONSES",
    "UPLOAD_RESPONSES",
]
