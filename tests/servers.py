"""Ports and server processes for tests that run in parallel (pytest-xdist).

Servers inside the test process bind port 0 and report the port they got (tests/mailserver.py, uvicorn
given a bound socket). ``duban serve --port`` takes 1–65535, so a ``duban serve`` process is started on
a port that was free a moment before, and started again on another one in the rare case that a parallel
test took it in between.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

import httpx

_held: list[socket.socket] = []


def bound_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to a port the kernel chose (port 0), not yet listening: hand it to the server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    return sock


def refusing_port() -> int:
    """A port where connections are refused (a server that is down) and that no other test can take: it
    stays bound, without listening, for the life of this process or until ``release(port)``."""
    sock = bound_socket()
    _held.append(sock)
    return sock.getsockname()[1]


def release(port: int) -> None:
    """Let a server start on a port ``refusing_port`` held (the server that was down comes back)."""
    for sock in [s for s in _held if s.getsockname()[1] == port]:
        _held.remove(sock)
        sock.close()


def free_port() -> int:
    """A port that is free right now (for a process that cannot bind port 0 itself)."""
    with bound_socket() as sock:
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.TransportError:
        return False


def start_server(
    command: Callable[[int], list[str]], ready: Callable[[int], bool], timeout: float = 60, **popen
) -> tuple[subprocess.Popen, int]:
    """Start ``command(port)`` on a free port and wait until ``ready(port)``; on "address already in use"
    (a parallel test took the port first) start it again on another port."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.STDOUT)
    popen.setdefault("text", True)
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(command(port), **popen)
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            if ready(port):
                return proc, port
            if time.monotonic() > deadline:
                proc.kill()
                out, err = proc.communicate()
                raise AssertionError(f"the server did not start within {timeout} s:\n{out}\n{err or ''}")
            time.sleep(0.05)
        out, err = proc.communicate()
        if "address already in use" not in f"{out}{err}".lower():
            raise AssertionError(f"the server exited ({proc.returncode}) before it was ready:\n{out}\n{err or ''}")
    raise AssertionError("no free port after 5 attempts")
