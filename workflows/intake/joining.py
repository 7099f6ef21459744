"""What joins a case after intake: linked reports, sensor alarms, resources.

The CaseWorkflow owns one `Joining`; its update and signal handlers delegate here. Merged
reports keep their reporter's personal information raw only here and in the read model: the
state holds masked, slimmed copies (workflows/shared/privacy.py). The rules the validators
check live in `workflows/intake/reports.py`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.case.effects import iso
    from workflows.case.host import CaseHost
    from workflows.contracts import (
        Actor,
        AlarmSignal,
        CaseInput,
        LinkedReport,
        LinkReport,
        ResourceNote,
        Role,
        SplitReport,
    )
    from workflows.intake import reports
    from workflows.shared import privacy


class Joining:
    """The reports a case took in, raw, and those the read model has not seen yet."""

    def __init__(self, case: CaseHost, raw_reports: dict[str, CaseInput]) -> None:
        self._case = case
        self.raw_reports = raw_reports  # by ticket: the case's own report and every merged one
        self.unprojected: list[LinkedReport] = []  # linked or split, not yet projected

    def raw(self, linked: LinkedReport) -> LinkedReport:
        """`linked` with its reporter's personal information unmasked, for the read model."""
        raw = self.raw_reports.get(linked.report.ticket, linked.report)
        return dataclasses.replace(linked, report=raw)

    def link(self, cmd: LinkReport) -> None:
        """Merge a duplicate report (减少重复派单): counted, its reporter kept, no new dispatch."""
        state = self._case.state
        linked = reports.link(state, cmd, workflow.now())
        if linked is None:
            return  # merged already: a retry
        self.raw_reports[cmd.report.ticket] = cmd.report
        linked.report = reports.slim(privacy.masked(cmd.report))
        self.unprojected.append(linked)
        report = cmd.report
        payload: dict[str, Any] = {
            "report": report.ticket,
            "channel": report.channel,
            "auto": cmd.auto,
            "count": state.report_count,
            "notify": [state.assigned_unit.id] if state.assigned_unit else [],
        }
        if report.attachments:
            payload["attachments"] = list(report.attachments)
        self._case.record("link_report", cmd.actor, reason=cmd.reason, payload=payload)

    def split(self, cmd: SplitReport) -> None:
        """A wrongly merged report leaves; the caller starts it as its own case, same ticket."""
        state = self._case.state
        self.unprojected.append(reports.split(state, cmd, workflow.now()))
        payload = {"report": cmd.ticket, "count": state.report_count}
        self._case.record("split_report", cmd.actor, reason=cmd.reason, payload=payload)

    def alarm(self, alarm: AlarmSignal) -> None:
        """A sensor alarm joins the case its device's first alarm opened."""
        state = self._case.state
        reports.add_alarm(state, alarm)
        device = Actor(f"device:{alarm.device_id}", alarm.device_id, Role.DEVICE, "")
        payload = {
            "device": alarm.device_id,
            "type": alarm.alarm_type,
            "value": alarm.value,
            "measured_at": iso(alarm.at),
            "alarms": alarm.count,
            "count": state.signal_count,
        }
        self._case.record("signal", device, payload=payload)

    def resource(self, note: ResourceNote) -> None:
        """A team or equipment allocated or released (the directory holds the allocation)."""
        payload = {"resource": note.resource[:200]}
        action = "release" if note.action == "release" else "allocate"
        self._case.record(action, note.actor, reason=note.reason, payload=payload)
