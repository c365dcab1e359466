"""A real SMTP server (aiosmtpd on loopback), a real HTTP receiver for webhooks, and a
worker pointed at them, driven step by step by the tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar

from slotwise.db.database import Database
from slotwise.notifications.worker import Backoff, OutboxWorker
from slotwise.settings import Settings

FAST_BACKOFF = Backoff(initial=10.0, maximum=600.0, jitter=0.2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Collector:
    """aiosmtpd handler keeping every accepted message; ``refuse`` answers RCPT with it."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: str | None = None
        self._arrived = threading.Condition()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    async def wait_for(self, count: int) -> bool:
        """Whether ``count`` messages arrived within 10 s (woken by each arrival)."""

        def wait() -> bool:
            with self._arrived:
                return self._arrived.wait_for(lambda: len(self.messages) >= count, 10.0)

        return await asyncio.to_thread(wait)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@dataclass
class SmtpServer:
    port: int
    collector: Collector
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(_free_port(), Collector())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port})


@pytest.fixture
async def worker(database: Database, smtp_settings: Settings) -> AsyncIterator[OutboxWorker]:
    async with OutboxWorker(
        database, smtp_settings, backoff=FAST_BACKOFF, rng=random.Random(6)
    ) as outbox_worker:
        yield outbox_worker


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local HTTP server recording the webhooks it receives; answers ``status``."""

    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 204


@contextlib.contextmanager
def _serving(state: Receiver, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """``state`` served on a loopback port (yielded), over TLS with ``tls``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")
    with _serving(state) as port:
        state.url = f"http://127.0.0.1:{port}/hooks/slotwise"
        yield state


TLS_RECEIVER_NAME = "hooks.pinned.example"


@dataclass
class TlsReceiver:
    """A receiver over TLS whose certificate names ``TLS_RECEIVER_NAME`` only; ``cafile``
    is that (self-signed) certificate, for the client to trust."""

    state: Receiver
    port: int
    cafile: Path


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[TlsReceiver]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", f"/CN={TLS_RECEIVER_NAME}", "-addext", f"subjectAltName=DNS:{TLS_RECEIVER_NAME}"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    state = Receiver(url="")
    with _serving(state, context) as port:
        state.url = f"https://{TLS_RECEIVER_NAME}:{port}/hooks/slotwise"
        yield TlsReceiver(state, port, cert)


# --- helpers ------------------------------------------------------------------------------


def future_start(days: int = 3, hour: int = 15) -> datetime:
    """A whole hour ``days`` ahead (UTC)."""
    base = datetime.now(UTC) + timedelta(days=days)
    return base.replace(hour=hour, minute=0, second=0, microsecond=0)


def calendar_of(message: EmailMessage) -> Calendar:
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, "one calendar attachment"
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return Calendar.from_ical(payload)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def html_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


async def outbox_rows(conn: asyncpg.Connection, appointment_id: Any = None) -> list[asyncpg.Record]:
    if appointment_id is None:
        return await conn.fetch("SELECT * FROM outbox ORDER BY created_at, kind")
    return await conn.fetch(
        "SELECT * FROM outbox WHERE appointment_id = $1 ORDER BY created_at, kind", appointment_id
    )


def payload_of(row: asyncpg.Record) -> dict[str, Any]:
    value = row["payload"]
    return dict(json.loads(value) if isinstance(value, str) else value)
