"""Jinja2 templates (autoescaped), their filters, and the static files' cache-busting versions."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from imagegolf.db.clock import format_time
from imagegolf.web import format as fmt

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def static_versions() -> dict[str, str]:
    """file name → a short hash of its bytes, appended as ?v= so browsers never run stale JS."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10] for p in STATIC.iterdir() if p.is_file()}


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every {{ value }} is HTML-escaped; only |svg marks trusted markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        human=fmt.human_size,
        bytes=fmt.exact_size,
        short=fmt.short_digest,
        when=fmt.show_time,
        summary=fmt.event_summary,
        kind=fmt.kind_words,
        actor=fmt.public_actor,
        via=fmt.via_words,
        why=fmt.unranked_reason,
        public_reason=fmt.public_reason,
        setting=lambda value, name: fmt.setting_value(name, value),
        iso=lambda moment: format_time(moment) if moment else "",
        seg=lambda text: quote(str(text), safe=""),  # a URL path segment
        svg=_trusted_svg,
        code=code_spans,
    )
    versions = static_versions()
    env.globals["static"] = lambda name: f"/static/{name}?v={versions.get(name, '0')}"
    return env


def _trusted_svg(text: str) -> Markup:
    """Markup from the chart modules (timeline_svg, progress_svg, entrant_svg, on svg_common.esc),
    which escape every text they write; nothing else may use this."""
    return Markup(text)


def code_spans(text: str) -> Markup:
    """``like `this` `` → escaped text with <code> spans: for the rules' plain-text sentences."""
    parts = str(text).split("`")
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if odd else Markup("{}").format(part)
        for odd, part in ((i % 2 == 1, p) for i, p in enumerate(parts))
    )


def render(env: jinja2.Environment, template: str, **context: Any) -> str:
    return env.get_template(template).render(**context)
