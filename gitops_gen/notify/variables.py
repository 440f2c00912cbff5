"""Where a notify target's secret reaches the audit: an environment variable, set from a
``secretKeyRef`` in the rendered CronJob (or exported by whoever runs ``drift`` by hand)."""

from __future__ import annotations

from gitops_gen.model.schema import NotifyTarget


def variable(target: NotifyTarget) -> str:
    """``GITOPS_GEN_NOTIFY_<NAME>_URL`` (webhook, slack) or ``..._TOKEN`` (github, gitlab)."""
    suffix = "URL" if target.type in ("webhook", "slack") else "TOKEN"
    return f"GITOPS_GEN_NOTIFY_{target.name.upper().replace('-', '_')}_{suffix}"
