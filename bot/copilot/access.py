"""Every read of a customer by an agent leaves an audit record: who, which customer, what, why.

Kind ``agent_read`` under the customer read (so the customer's history shows each agent who
looked), its detail naming the agent and role, what was read and the grant it was read under
(``bot.copilot.scope``: handling a handoff, supervision of the team, or break-glass with its
reason). Opening break-glass access is itself a record of kind ``break_glass``.

No record, no read: when the trail cannot take the record the copilot answers 503 and shows
nothing, as the compliance console does (``bot.console.access``).

Each record carries the customer's exact reference (``audit.record``'s ``customer_ref``): the
customer id the agent asked for, or the reference a handoff or grant holds (which only has the
masked id); none for a handoff stored before references.
"""

from __future__ import annotations

import logging

from bot.compliance import audit
from bot.copilot import agents, scope

logger = logging.getLogger(__name__)
READ, BREAK_GLASS = "agent_read", "break_glass"


class NotAudited(RuntimeError):
    """The read could not be audited, so it is not answered."""


def _record(customer_id: str, kind: str, detail: str, agent: agents.Agent, customer_ref: object) -> int:
    try:
        return audit.record(customer_id, kind, detail=detail, customer_ref=customer_ref)
    except Exception as error:  # noqa: BLE001 - whatever stops the record stops the read
        logger.exception("A copilot read by %s could not be audited", agent.agent_id)
        raise NotAudited(str(error)) from error


def record(agent: agents.Agent, customer_id: str, what: str, why: str,
           customer_ref: str | None | object = audit.FROM_ID) -> int:
    """Audit one read of ``customer_id``; returns the record's id, or raises NotAudited.
    ``customer_ref``: the exact reference when ``customer_id`` is only the masked id (a handoff's)."""
    return _record(customer_id, READ, f"{agent.role} {agent.agent_id} (team {agent.team}) read {what}; why: {why}",
                   agent, customer_ref)


def record_break_glass(agent: agents.Agent, grant: scope.Grant) -> int:
    """Audit the opening of break-glass access, with its reason and expiry."""
    return _record(grant.customer_id, BREAK_GLASS,
                   f"{agent.role} {agent.agent_id} (team {agent.team}) opened break-glass access #{grant.id} "
                   f"until {grant.expires_at.isoformat(timespec='seconds')}; reason: {grant.reason}", agent,
                   grant.customer_ref)
