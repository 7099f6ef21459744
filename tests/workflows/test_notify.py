"""Notifications end to end: real workflows (time-skipping), the real projection writing the
outbox, the real sender workflow and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select
from temporalio.client import (
    Client,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.notify import NotifyActivities
from core.cases.service import CaseService, IntakeRequest
from core.config import Settings
from core.db import make_engine, migrate, session_factory, session_scope
from core.intake.service import PUBLIC, IntakeService
from core.models import CaseRecord, Notification
from core.notify import preferences
from core.notify.kinds import StaffKind
from core.notify.notifier import Channel
from core.notify.preferences import Preferences
from core.temporal.schedules import DELIVER_NOTIFICATIONS, SCHEDULES, ensure_schedules
from core.temporal.worker import RUNNER, build_worker
from tests.conftest import projected, user_named
from tests.core.test_notify_delivery import CITIZEN, pending_row
from tests.smtp import Mailbox, mailbox, smtp_settings
from tests.workflows.support import (
    assert_schedule,
    first_scheduled_run,
    start_case,
    state_of,
    until_dispatched,
)
from workflows.notify.contracts import DeliverNotificationsInput, DeliverNotificationsResult
from workflows.notify.deliver import DeliverNotificationsWorkflow

__all__ = ["mailbox"]  # the fixture
pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def notifying(service: CaseService, mailbox: Mailbox) -> CaseService:
    """The case service of the test, its settings sending through the test's SMTP server."""
    settings = service.settings.model_copy(update=smtp_settings(mailbox.port))
    return CaseService(service.client, service.sessions, settings)


@asynccontextmanager
async def worker(service: CaseService) -> AsyncIterator[Worker]:
    w = build_worker(
        service.client,
        task_queue=service.settings.task_queue,
        sessions=service.sessions,
        settings=service.settings,
    )
    async with w:
        yield w


async def deliver(client: Client, service: CaseService) -> DeliverNotificationsResult:
    """One run of the sender, as the schedule starts it."""
    return await client.execute_workflow(
        DeliverNotificationsWorkflow.run,
        DeliverNotificationsInput(),
        id=f"deliver-{uuid.uuid4().hex[:8]}",
        task_queue=service.settings.task_queue,
        result_type=DeliverNotificationsResult,
    )


def opt_in(service: CaseService, username: str, address: str, *kinds: StaffKind) -> None:
    with session_scope(service.sessions) as session:
        user = session.merge(user_named(service.sessions, username))
        wanted = Preferences(channel=Channel.EMAIL, address=address, kinds=list(kinds))
        preferences.update(session, user, wanted)


async def test_a_citizen_who_left_an_e_mail_receives_the_tracking_link(
    ts_env: WorkflowEnvironment, notifying: CaseService, mailbox: Mailbox
) -> None:
    report = IntakeRequest(
        title="路口垃圾",
        description="路口垃圾堆放两天未清运",
        category="exposed_garbage",
        location_unit_id="gl-nhl-c1-g1",
        channel="citizen",
        reporter_email=CITIZEN,
        duplicates="new",
    )
    async with worker(notifying):
        result = await IntakeService(notifying).submit(PUBLIC, report)
        case = await projected(notifying.sessions, f"case-{result.ticket}", 1)
        done = await deliver(ts_env.client, notifying)
    assert (done.sent, done.failed) == (1, 0)
    [mail] = mailbox.to(CITIZEN)
    assert mail["Subject"] == f"您反映的问题已受理（工单号 {result.ticket}）"
    link = next(w for w in mailbox.body(mail).split() if w.startswith("https://"))
    url = urlsplit(link)
    assert (url.netloc, url.path) == ("cityloop.test", f"/track/{result.ticket}")
    assert parse_qs(url.query) == {"t": [case.tracking_token]} and case.tracking_token
    assert mail["Message-ID"] == f"<case-{result.ticket}.1.report%3A{result.ticket}.email@cityloop>"


async def test_a_supervisor_opted_in_to_escalations_hears_of_one_and_nobody_else_of_anything(
    ts_env: WorkflowEnvironment, notifying: CaseService, mailbox: Mailbox
) -> None:
    opt_in(notifying, "supervisor_gl", "sup@example.cn", StaffKind.ESCALATE)
    opt_in(notifying, "dispatcher_gl", "dis@example.cn", StaffKind.DISPATCH)  # not to this
    opt_in(notifying, "supervisor1", "city@example.cn", StaffKind.REMIND)  # nor this
    async with worker(notifying):
        handle = await start_case(notifying)  # 宁海路街道 holds it: ladder 鼓楼区 → 南京市
        await until_dispatched(handle)
        await ts_env.sleep(timedelta(days=5))  # past the accept deadline: climbs to 鼓楼区
        state = await state_of(handle)
        await projected(notifying.sessions, state.case_id, state.last_seq)
        done = await deliver(ts_env.client, notifying)
    assert state.clock.escalation_level >= 1
    [mail] = mailbox.received
    assert mail["To"] == "sup@example.cn"
    assert mail["Subject"] == f"升级督办：工单 {state.ticket}（暴露垃圾）"
    body = mailbox.body(mail)
    assert "升级至鼓楼区督办（第 1 级）" in body and f"/cases/{state.ticket}" in body
    assert done.sent == 1
    with session_scope(notifying.sessions) as session:
        recipients = set(session.exec(select(Notification.recipient)))
    assert recipients == {"user:supervisor_gl"}  # a hotline case with no phone: no reporter


async def test_a_failing_server_leaves_the_message_pending_and_a_later_run_sends_it(
    ts_env: WorkflowEnvironment, notifying: CaseService, mailbox: Mailbox
) -> None:
    opt_in(notifying, "handler_nhl", "nhl@example.cn", StaffKind.DISPATCH)
    mailbox.refuse = True
    async with worker(notifying):
        handle = await start_case(notifying)
        state = await until_dispatched(handle)
        await projected(notifying.sessions, state.case_id, state.last_seq)
        failed = await deliver(ts_env.client, notifying)
        with session_scope(notifying.sessions) as session:
            row = session.exec(select(Notification)).one()
        mailbox.refuse = False
        await ts_env.sleep(timedelta(minutes=2))  # past the first wait before a retry
        sent = await deliver(ts_env.client, notifying)
    assert (failed.sent, failed.failed) == (0, 1)
    assert (row.status, row.attempts) == ("pending", 1) and "451" in row.last_error
    assert (sent.sent, sent.failed) == (1, 0)
    [mail] = mailbox.received
    assert mail["To"] == "nhl@example.cn" and mail["Subject"].startswith("新派工单：")
    with session_scope(notifying.sessions) as session:
        row = session.exec(select(Notification)).one()
        case = session.exec(select(CaseRecord)).one()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert case.ticket in mail["Subject"]


async def test_the_worker_keeps_one_schedule_that_runs_the_sender(
    dev_env: WorkflowEnvironment, sqlite_url: str, task_queue: str, mailbox: Mailbox
) -> None:
    client = dev_env.client
    settings = Settings(
        database_url=sqlite_url, task_queue=task_queue, **smtp_settings(mailbox.port)
    )
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    sessions = session_factory(engine)
    await ensure_schedules(client, settings)
    await ensure_schedules(client, settings.model_copy(update={"notify_every_seconds": 30}))
    handle = client.get_schedule_handle(DELIVER_NOTIFICATIONS)
    try:
        await assert_schedule(
            handle, timedelta(seconds=30), "DeliverNotificationsWorkflow", task_queue
        )
        pending_row(sessions, next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        acts = NotifyActivities(sessions, settings)
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[DeliverNotificationsWorkflow],
            activities=[acts.deliver_notifications],
            activity_executor=ThreadPoolExecutor(max_workers=2),
            workflow_runner=RUNNER,
        ):
            await handle.trigger()
            done = await first_scheduled_run(client, handle, DeliverNotificationsResult)
        assert done.sent == 1 and [m["To"] for m in mailbox.received] == [CITIZEN]
    finally:
        for schedule_id in SCHEDULES:
            await client.get_schedule_handle(schedule_id).delete()
        engine.dispose()
