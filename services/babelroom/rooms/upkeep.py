"""The gateway's periodic room upkeep: the manager's sweep, then the capacity and room gauges.

Every replica runs it every ``room_sweep_interval_s``; the sweep's steps are safe to run concurrently
(see :mod:`babelroom.rooms.manager`), and every replica exports the same deployment-wide gauges.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy import func, select

from babelroom import metrics
from babelroom.capacity import export_gauges
from babelroom.db.models import Room
from babelroom.db.session import Database
from babelroom.rooms.manager import RoomManager

log = structlog.get_logger(__name__)


async def upkeep_once(manager: RoomManager, db: Database, exported: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """One sweep and one gauge update; returns the exported instance labels."""
    await manager.sweep(db)
    exported = export_gauges(await manager.capacity.snapshot(), exported)
    async with db.session() as session:
        open_rooms = await session.scalar(select(func.count()).select_from(Room).where(Room.status == "open"))
        metrics.ROOMS_ACTIVE.set(open_rooms or 0)
    return exported


async def run_upkeep(manager: RoomManager, db: Database, interval_s: float) -> None:
    """Run :func:`upkeep_once` every ``interval_s`` until cancelled; failures are logged, not fatal."""
    exported: set[tuple[str, str]] = set()
    while True:
        try:
            exported = await upkeep_once(manager, db, exported)
        except Exception:  # noqa: BLE001 - a database or Redis hiccup must not stop the upkeep
            log.exception("rooms.upkeep_failed")
        await asyncio.sleep(interval_s)
