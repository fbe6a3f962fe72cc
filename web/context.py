"""What every request needs: engines, rules, the clock, the service, settings — one object per app,
kept on ``app.state.duban`` (no module-level singletons)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.engine import Engine

from service.attachments import Attachments
from service.clock import wall_now
from service.directory_admin import DirectoryAdmin
from service.inspections import InspectionService
from service.problems import ProblemService
from service.uploads import limits_from_env
from web.settings import WebSettings
from workflow.evidence import Limits
from workflow.rules import Rules

Clock = Callable[[], datetime]


@dataclass
class WebContext:
    engine: Engine
    reader: Engine
    rules: Rules
    clock: Clock
    settings: WebSettings
    service: ProblemService = field(init=False)
    admin: DirectoryAdmin = field(init=False)
    jobs: object | None = None  # service.scheduler.Jobs when the app runs the scheduler
    # Wall time for sessions and the login throttle: they never follow a simulated business clock.
    wall: Clock = wall_now
    limits: Limits = field(default_factory=limits_from_env)  # upload limits (DUBAN_ATTACH_MAX_*)
    files: Attachments = field(init=False)
    inspections: InspectionService = field(init=False)

    def __post_init__(self):
        self.service = ProblemService(self.engine, self.rules, self.clock)
        self.admin = DirectoryAdmin(self.engine, self.clock)
        self.files = Attachments(self.reader, self.service.store)
        self.inspections = InspectionService(self.engine, self.rules, self.clock, self.service.store)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().astimezone(self.rules.timezone).date()
