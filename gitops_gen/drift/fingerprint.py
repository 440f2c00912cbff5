"""A finding's fingerprint: the same drift gets the same name in every run.

Built from what the drift *is about* (the object's group, kind, namespace and name, the path
and the rule), never from what it *says* (the desired and live values, the masks, the message):
a value edited again by hand, or a Secret masked under a fresh per-run HMAC key, stays the same
finding, so its first-seen time survives. The API version is left out too: the same object read
at another version is the same object.
"""

from __future__ import annotations

import hashlib
import json

from gitops_gen.drift.findings import Finding

FINGERPRINT_WIDTH = 16  # hex characters: 64 bits, far from colliding among one cluster's findings


def fingerprint(finding: Finding) -> str:
    group, kind, namespace, name = finding.ref.identity
    identity = [group, kind, namespace, name, finding.path, finding.rule]
    digest = hashlib.sha256(json.dumps(identity, separators=(",", ":")).encode("utf-8"))
    return digest.hexdigest()[:FINGERPRINT_WIDTH]
