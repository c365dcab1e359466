"""A server-sent-event response as a plain ASGI callable.

One task per stream (the request's own) writes frames, a burst in one write (heartbeats
come from the hub's one timer); one helper task watches for the client's disconnect and is
always cancelled and awaited before the response returns, so no task outlives its stream.
The stream ends on disconnect, when the subscriber is dropped (too slow), when the hub
closes (shutdown), or when a write stalls (the hub's watchdog)."""

from __future__ import annotations

import asyncio

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from slotwise.realtime.hub import Hub, Subscriber, retry_frame
from slotwise.realtime.schemas import EVENT_STREAM

RETRY_MILLISECONDS = 3000


class EventStreamResponse(Response):
    media_type = EVENT_STREAM

    def __init__(self, hub: Hub, subscriber: Subscriber, missed: bytes) -> None:
        self.hub = hub
        self.subscriber = subscriber
        self.missed = missed
        self.status_code = 200
        self.background = None
        self.body = b""
        self.raw_headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache, no-transform"),
            (b"x-accel-buffering", b"no"),
        ]

    async def _watch_disconnect(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.subscriber.close("disconnected")
                return

    async def _write(self, send: Send, chunk: bytes, *, more: bool = True) -> None:
        subscriber = self.subscriber
        subscriber.writing_since = asyncio.get_running_loop().time()
        await send({"type": "http.response.body", "body": chunk, "more_body": more})
        subscriber.writing_since = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscriber = self.subscriber
        subscriber.writer = asyncio.current_task()
        watcher = asyncio.create_task(self._watch_disconnect(receive))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._write(send, retry_frame(RETRY_MILLISECONDS) + self.missed)
            while not subscriber.closed:
                frames = await subscriber.next()
                if subscriber.closed:
                    break
                await self._write(send, frames)
            await self._write(send, b"", more=False)
        except OSError:
            subscriber.close("write_failed")
        except asyncio.CancelledError:
            # The hub's watchdog ended a stalled stream: a normal end, not a cancellation
            # of the request; anything else is passed on.
            task = asyncio.current_task()
            if subscriber.close_reason != "stalled" or task is None or task.uncancel() > 0:
                raise
        finally:
            subscriber.writer = None
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            self.hub.unsubscribe(subscriber)
