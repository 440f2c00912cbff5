"""The Jinja2 environment: strict undefined variables, YAML-safe filters, readable errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from gitops_gen.errors import InputError, TemplateError
from gitops_gen.yamlio import dump

TEMPLATES_DIR = "templates"


def _quote(value: Any) -> str:
    """A YAML-safe scalar or flow sequence: JSON is valid YAML and never ambiguous."""
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value, ensure_ascii=False)


def _to_yaml(value: Any, indent: int = 0) -> str:
    if isinstance(value, Mapping):
        value = dict(value)
    if value in ({}, [], ()):
        text = "{}" if isinstance(value, dict) else "[]"
        return " " * indent + text
    text = dump(_plain(value)).rstrip("\n")
    pad = " " * indent
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def make_environment(templates_dir: Path) -> jinja2.Environment:
    if not templates_dir.is_dir():
        raise InputError(
            f"{templates_dir.name}/: not found; the repository needs its Jinja2 templates "
            "(run 'gitops-gen init' for a fresh set)"
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - YAML output, never HTML
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["q"] = _quote
    env.filters["toyaml"] = _to_yaml
    return env


def render_template(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> str:
    """Render one template; any failure becomes a :class:`TemplateError` naming the line."""
    try:
        template = env.get_template(name)
        return template.render(**context)
    except jinja2.TemplateNotFound:
        raise TemplateError(
            f"{TEMPLATES_DIR}/{name}: template not found; restore it or run 'gitops-gen init' "
            "in a scratch folder to copy a fresh one"
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"{TEMPLATES_DIR}/{exc.name or name}:{exc.lineno}: template syntax error: {exc.message}"
        ) from None
    except jinja2.UndefinedError as exc:
        line = _template_line(exc, name)
        raise TemplateError(
            f"{TEMPLATES_DIR}/{name}{line}: {exc.message}; the template uses a variable the "
            "renderer does not provide (check its spelling)"
        ) from None


def _template_line(exc: BaseException, name: str) -> str:
    """Jinja rewrites tracebacks so template frames carry the template's own line numbers."""
    tb = exc.__traceback__
    line = ""
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(name):
            line = f":{tb.tb_lineno}"
        tb = tb.tb_next
    return line
