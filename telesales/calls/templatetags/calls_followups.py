"""Template tags of the calls app: the teammates an escalated follow-up may move to (the
board's "reassign" form in each row)."""

from __future__ import annotations

from django import template

from telesales.calls import permissions, selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def followup_reassign_targets(context, followup, user) -> list:
    """The teammates ``user`` may give ``followup`` to (empty: ``user`` may not reassign
    it, or nobody in the team can take it). Looked up once per team on a page."""
    if not permissions.can_reassign_followup(user, followup):
        return []
    cache = context.render_context.setdefault("calls_reassign_targets", {})
    key = (followup.agent.team_id, followup.agent_id, followup.lead.required_grade or 1)
    if key not in cache:
        cache[key] = selectors.followup_reassign_targets(followup=followup)
    return cache[key]
