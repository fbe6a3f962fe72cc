"""Logging for the long-running processes (scheduler, web server, web workers): one format, INFO, and the
transitions library kept to warnings — at INFO it writes a line for every callback of every transition, which
buries what an operator needs to read and, in a month's replay, runs to megabytes."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMAT_WITH_PROCESS = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"


def configure(with_process: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format=FORMAT_WITH_PROCESS if with_process else FORMAT)
    logging.getLogger("transitions").setLevel(logging.WARNING)
