"""What the pages and stored texts say about deployment actions: titles, thresholds spelt out.

Page wording lives here, apart from the use cases (staff.actions) that perform the actions and
the rules (deployments.rules) that decide when they are allowed.
"""

from __future__ import annotations

from datetime import timedelta

from deployments.rules import stuck_after


def spelt_out(span: timedelta) -> str:
    """A threshold as staff say it: "an hour", "2 hours", "90 minutes"."""
    minutes = round(span.total_seconds() / 60)
    if minutes == 60:
        return "an hour"
    if minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return "a minute" if minutes == 1 else f"{minutes} minutes"


# "over an hour" with the default threshold; the pages and the stored error say the same.
STUCK_FOR = spelt_out(stuck_after())
STUCK_ERROR = f"Marked as error by anchor-deploy staff: the build was stuck for over {STUCK_FOR}."

CANCEL_TITLE = "Cancel deployment"
FAIL_TITLE = "Mark deployment as error"
REDEPLOY_TITLE = "Redeploy"
RESTORE_TITLE = "Restore build log"
