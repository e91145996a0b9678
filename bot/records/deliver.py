"""The deliverer: sends pending records and escalations from the outbox, with backoff.

Channels register a sender per platform ("slack", "teams"). A sender posts one delivery and
returns the platform's reference for it; any exception means "try again later". Nothing is
ever dropped: a delivery stays pending until it is confirmed, and an admin is alerted when
one has been stuck longer than the configured time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from bot.records.store import Delivery, NewRecord, Store

log = logging.getLogger("canishare.deliver")
MAX_BACKOFF_SECONDS = 300.0
# A delivery is started only while at least this share of the batch's lease is left, and each
# attempt ends this share before the lease does (a margin for the store writes that follow).
MIN_LEASE_LEFT = 0.5
LEASE_MARGIN = 0.1


class Sender(Protocol):
    async def deliver(self, delivery: Delivery) -> str:
        """Post the delivery; return the platform's reference (e.g. a message ts)."""
        ...


class PermanentFailure(Exception):
    """The platform refused the delivery for a reason retrying cannot fix (a channel that does
    not exist or is archived, the bot not in the channel, a revoked token). The message names
    the fault and what to do; the delivery is shown as failed and the leads are alerted once."""


class RetryAfter(Exception):
    """The platform asked us to wait (e.g. HTTP 429 with Retry-After)."""

    def __init__(self, seconds: float, message: str = "") -> None:
        super().__init__(message or f"retry after {seconds:g}s")
        self.seconds = seconds


def backoff(attempts: int) -> float:
    """Exponential backoff with jitter: 2, 4, 8 … seconds, capped at five minutes."""
    return min(MAX_BACKOFF_SECONDS, 2.0**attempts) * (0.75 + random.random() / 2)


def alert_id(delivery_id: str, now: datetime) -> str:
    """A record id for an alert about `delivery_id`, unique however often it is alerted."""
    return f"A-{delivery_id.replace(':', '-')}-{now.strftime('%Y%m%d%H%M%S%f')}"


class Deliverer:
    """Claims due deliveries and hands each to its platform's sender."""

    def __init__(
        self,
        store: Store,
        senders: Mapping[str, Sender],
        clock: Callable[[], datetime],
        *,
        alert_after: timedelta = timedelta(hours=1),
        worker: str | None = None,
        lease_seconds: float = 60.0,
        batch: int = 5,
    ) -> None:
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.store = store
        self.senders = dict(senders)
        self.clock = clock
        self.alert_after = alert_after
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Deliver now rather than at the next poll (called after a turn saves a record)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Try every due delivery once; return how many were delivered.

        A small batch is claimed under one lease and tried one at a time, each attempt ending
        before the lease does. Once less than MIN_LEASE_LEFT of the lease is left (a slow
        platform took the time), the rest of the batch is given back untried: after the
        lease another worker may claim them, and a delivery both start could be posted twice
        (neither finds the other's post yet)."""
        claimed_at = self.clock()
        due = await self.store.claim_due(
            self.worker, now=claimed_at, limit=self.batch, lease=self.lease_seconds
        )
        lease_ends = claimed_at + timedelta(seconds=self.lease_seconds)
        delivered = 0
        for n, delivery in enumerate(due):
            left = (lease_ends - self.clock()).total_seconds()
            if left < self.lease_seconds * MIN_LEASE_LEFT:
                given_back = await self.store.release([d.id for d in due[n:]], self.worker)
                log.info(
                    "delivery lease nearly over: %d deliveries given back for the next pass",
                    given_back,
                )
                break
            if await self._attempt(delivery, left - self.lease_seconds * LEASE_MARGIN):
                delivered += 1
        await self.alert_overdue()
        return delivered

    async def _attempt(self, delivery: Delivery, seconds: float) -> bool:
        """One attempt at one delivery, ended after `seconds` (inside this worker's lease)
        whatever the sender does; True when it was delivered."""
        platform = delivery.target.split(":", 1)[0]
        sender = self.senders.get(platform)
        if sender is None:
            await self._later(
                delivery,
                f"{platform} is not configured on this server",
                backoff(delivery.attempts),
            )
            return False
        try:
            async with asyncio.timeout(seconds):
                ref = await sender.deliver(delivery)
        except PermanentFailure as exc:
            await self.fail_for_good(delivery, str(exc) or type(exc).__name__)
        except RetryAfter as exc:
            await self._later(delivery, str(exc), max(exc.seconds, 1.0))
        except TimeoutError:
            reason = f"no answer within {seconds:.1f} s, inside the delivery lease"
            log.warning("delivery %s failed: %s", delivery.id, reason)
            await self._later(delivery, reason, backoff(delivery.attempts))
        except Exception as exc:  # any failure: keep it and try again later
            log.warning("delivery %s failed: %s", delivery.id, exc)
            await self._later(delivery, f"{type(exc).__name__}: {exc}", backoff(delivery.attempts))
        else:
            await self.store.mark_delivered(delivery.id, ref, now=self.clock())
            return True
        return False

    async def _later(self, delivery: Delivery, error: str, seconds: float) -> None:
        """Try `delivery` again after `seconds`, if this worker still holds it."""
        await self.store.retry_later(
            delivery.id,
            error,
            when=self.clock() + timedelta(seconds=seconds),
            worker=self.worker,
        )

    async def fail_for_good(self, delivery: Delivery, reason: str) -> None:
        """Stop retrying a delivery the platform refused for good; say so once, in the log and
        (unless the delivery was itself an alert) to every platform's alert channel."""
        now = self.clock()
        if not await self.store.mark_failed(delivery.id, reason, now=now):
            return  # another worker delivered it meanwhile
        log.error(
            "delivery %s failed and will not be retried: %s. The record is safe in the store; "
            "fix the cause, then run 'canishare records retry'.",
            delivery.id,
            reason,
        )
        if delivery.target.endswith(":alert"):
            return
        text = (
            f"A safeguarding record ({delivery.record_id}) could not be delivered to "
            f"{delivery.target} and will not be retried until the cause is fixed: {reason}. "
            "It is safe in the store; after fixing it, run 'canishare records retry'."
        )
        body = {
            "id": alert_id(delivery.id, now),
            "created_at": now.isoformat(),
            "text": text,
            "items": [f"{delivery.record_id} → {delivery.target}: {reason}"],
        }
        targets = tuple(f"{platform}:alert" for platform in sorted(self.senders))
        await self.store.append([NewRecord("alert", body, targets)], now=now)

    async def alert_overdue(self) -> None:
        """Tell the leads channel, once, about deliveries stuck longer than `alert_after`."""
        now = self.clock()
        stuck = await self.store.overdue_unalerted(now - self.alert_after)
        if not stuck:
            return
        by_platform: dict[str, list[Delivery]] = {}
        for d in stuck:
            by_platform.setdefault(d.target.split(":", 1)[0], []).append(d)
        alerts = []
        for platform, items in by_platform.items():
            lines = [f"{d.record_id} → {d.target}: {d.last_error or 'not yet sent'}" for d in items]
            alerts.append(
                NewRecord(
                    "alert",
                    {
                        "id": alert_id(items[0].id, now),
                        "created_at": now.isoformat(),
                        "text": "Some safeguarding records have not been delivered for more "
                        f"than {int(self.alert_after.total_seconds() // 60)} minutes. They are "
                        "safe in the store; run 'canishare records status' for details.",
                        "items": lines,
                    },
                    (f"{platform}:alert",),
                )
            )
        await self.store.append(alerts, now=now)
        await self.store.mark_alerted([d.id for d in stuck], now=now)

    async def run_forever(self, poll_seconds: float = 2.0) -> None:
        while True:
            try:
                if await self.run_once() >= self.batch:
                    continue  # a full batch went out: more may be waiting
            except Exception:
                log.exception("deliverer pass failed; will try again")
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
            # that arrives as the wake-up does, and shutdown then waits for ever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
