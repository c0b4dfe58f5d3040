"""RCA Markdown: a sanitized HTML preview for the console, and the post-mortem export document."""

from __future__ import annotations

from datetime import date, datetime

import nh3
from markdown_it import MarkdownIt

from rca.models import Rca
from rca.selectors import rca_action_item_list, rca_incident_link_list

# CommonMark plus GFM tables; raw HTML in the source is shown as text, never rendered.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def render_markdown(text: str) -> str:
    """HTML for the console preview, safe to mark safe: nh3 keeps only harmless tags and attributes
    (no scripts, event handlers or `javascript:` URLs) even if the renderer let something through."""
    return nh3.clean(_MARKDOWN.render(text or ""), link_rel="noopener noreferrer nofollow")


def _cell(value: object) -> str:
    """One Markdown table cell: pipes escaped, line breaks flattened, empty shown as a dash."""
    text = " ".join(str(value or "").split())
    return text.replace("\\", "\\\\").replace("|", "\\|") or "—"


def _url(url: str) -> str:
    """A link destination that cannot end the Markdown link early."""
    return "".join(f"%{ord(char):02X}" if char in "()<> |" else char for char in url)


def _when(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def _section(heading: str, body: str) -> list[str]:
    return [f"## {heading}", "", body.strip() or "_Not written yet._", ""]


def rca_export_markdown(rca: Rca) -> str:
    """The RCA as one Markdown post-mortem: header, the four sections, linked incidents, action items.

    Three queries (the RCA is given): links, action items with assignees.
    """
    lines = [
        f"# {' '.join(rca.title.split())}",
        "",
        f"- **Status:** {rca.get_status_display()}",
        f"- **Created:** {_when(rca.created_at)} by {rca.created_by_label or 'unknown'}",
        f"- **Updated:** {_when(rca.updated_at)}",
        f"- **Published:** {_when(rca.published_at)}",
        "",
    ]
    lines += _section("Summary", rca.summary)
    lines += _section("Impact", rca.impact)
    lines += _section("Root cause", rca.root_cause)
    lines += _section("Timeline", rca.timeline)
    lines += ["## Linked incidents", ""]
    links = list(rca_incident_link_list(rca=rca))
    if links:
        lines += ["| Product | Incident | Title | Severity | Status |", "|---|---|---|---|---|"]
        for link in links:
            incident = link.incident
            title = incident.title if incident is not None else link.title
            reference = (
                f"[{_cell(link.external_id)}]({_url(link.url)})" if link.url else _cell(link.external_id)
            )
            severity, state = (incident.severity, incident.status) if incident is not None else ("", "")
            lines.append(
                f"| {link.product} | {reference} | {_cell(title)} | {_cell(severity)} | {_cell(state)} |"
            )
    else:
        lines.append("_No incidents linked._")
    lines += ["", "## Action items", ""]
    items = list(rca_action_item_list(rca=rca))
    if items:
        lines += ["| Action | Assignee | Priority | Status | Due | Completed |", "|---|---|---|---|---|---|"]
        for item in items:
            assignee = item.assignee.email if item.assignee is not None else "unassigned"
            lines.append(
                f"| {_cell(item.title)} | {_cell(assignee)} | {item.priority} | {item.status} "
                f"| {_when(item.due_date)} | {_when(item.completed_at)} |"
            )
    else:
        lines.append("_No action items._")
    return "\n".join(lines).rstrip() + "\n"
