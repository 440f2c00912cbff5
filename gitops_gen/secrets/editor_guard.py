"""The editor sops runs for ``secrets edit`` when stdin is not a terminal.

sops re-opens the editor in a loop until the result parses ("press a key to return to the
editor"); without a terminal nobody can press that key, so it loops for ever, re-running the
editor many times a second. Without a terminal, ``secrets edit`` therefore gives sops this
wrapper as its editor: it runs the real editor once, checks that the result is a YAML mapping,
and otherwise fails, so sops stops with its editor-failed exit code. Any second invocation (sops
looping for a reason of its own) fails at once.

The outcome is written to a marker file for ``secrets edit`` to explain: a word and a line
number, never any content (the file being edited is plaintext).

Usage (by sops): ``python -m gitops_gen.secrets.editor_guard MARKER EDITOR-COMMAND FILE``.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import yaml

# outcomes written to the marker (read by gitops_gen.secrets.ops)
INVALID_YAML = "invalid-yaml"
NOT_A_MAPPING = "not-a-mapping"
EDITOR_FAILED = "editor-failed"
LOOPED = "looped"
EDITED = "edited"


def check(text: str) -> str | None:
    """None when ``text`` is a YAML mapping, else the outcome (and line) to report."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return f"{INVALID_YAML} {mark.line + 1}" if mark is not None else INVALID_YAML
    if not isinstance(document, dict):
        return NOT_A_MAPPING
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: editor_guard MARKER EDITOR-COMMAND FILE", file=sys.stderr)
        return 2
    marker, command, file = Path(argv[0]), argv[1], Path(argv[2])
    if marker.exists():
        marker.write_text(LOOPED, encoding="utf-8")
        return 3
    try:
        done = subprocess.run([*shlex.split(command), str(file)], check=False)
    except OSError:
        marker.write_text(f"{EDITOR_FAILED} 127", encoding="utf-8")
        return 3
    if done.returncode != 0:
        marker.write_text(f"{EDITOR_FAILED} {done.returncode}", encoding="utf-8")
        return 3
    try:
        problem = check(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        problem = INVALID_YAML
    marker.write_text(problem or EDITED, encoding="utf-8")
    return 3 if problem else 0


if __name__ == "__main__":  # pragma: no cover - run by sops as a separate process
    sys.exit(main(sys.argv[1:]))
