"""What PyPI would refuse in a distribution's metadata, checked offline (``pubtool check``).

``check_metadata_for_pypi`` is pure. Rendering the long description needs the optional
extra ``pubtool[check]`` (readme-renderer, the library PyPI itself renders with); without
it rendering is not checked and ``pubtool check`` says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Mapping, Optional

from packaging.version import Version

# warehouse/forms.py accepts these Description-Content-Type media types only.
CONTENT_TYPES = ("text/plain", "text/x-rst", "text/markdown")
SUMMARY_MAX = 512


@dataclass
class Findings:
    errors: list[str] = field(default_factory=list)  # PyPI would reject the upload
    warnings: list[str] = field(default_factory=list)  # accepted, but probably not what was meant


def check_metadata_for_pypi(metadata: Mapping, version: Version) -> Findings:
    """Rules from PyPI's upload checks that can be applied offline (pure)."""
    findings = Findings()
    if version.local is not None:
        findings.errors.append(f"local version {str(version)!r}: PyPI refuses versions with a '+local' part")
    summary = str(metadata.get("summary") or "")
    if "\n" in summary or "\r" in summary:
        findings.errors.append("Summary spans several lines: PyPI refuses it")
    if len(summary) > SUMMARY_MAX:
        findings.errors.append(f"Summary is {len(summary)} characters: PyPI allows at most {SUMMARY_MAX}")
    if not summary:
        findings.warnings.append("no Summary: the project page will show none")
    classifiers = metadata.get("classifiers") or ()
    if any(c.startswith("Private ::") for c in classifiers):
        findings.errors.append("a 'Private ::' classifier: PyPI refuses the upload (that is what it is for)")
    content_type = str(metadata.get("description_content_type") or "")
    media_type = content_type.split(";")[0].strip().lower()
    if content_type and media_type not in CONTENT_TYPES:
        findings.errors.append(
            f"Description-Content-Type {content_type!r} is not one of {', '.join(CONTENT_TYPES)}"
        )
    if not str(metadata.get("description") or "").strip():
        findings.warnings.append("no long description: the project page will be empty")
    elif not content_type:
        findings.warnings.append("no Description-Content-Type: PyPI renders the description as reStructuredText")
    return findings


def render_problem(metadata: Mapping) -> Optional[str]:
    """Why the long description would not render on PyPI, or None (also None without readme-renderer)."""
    try:
        with warnings.catch_warnings():  # it warns at import when its Markdown extra is missing
            warnings.simplefilter("ignore")
            import readme_renderer.markdown
            import readme_renderer.rst
            import readme_renderer.txt
    except ImportError:
        return None
    description = str(metadata.get("description") or "")
    if not description.strip():
        return None
    content_type = str(metadata.get("description_content_type") or "text/x-rst")
    media_type = content_type.split(";")[0].strip().lower()
    renderer = {
        "text/x-rst": readme_renderer.rst,
        "text/markdown": readme_renderer.markdown,
        "text/plain": readme_renderer.txt,
    }.get(media_type)
    if renderer is None:
        return None
    if renderer.render(description) is None:
        return f"the long description does not render as {media_type} (PyPI refuses it)"
    return None


def renderer_available() -> bool:
    try:
        import readme_renderer  # noqa: F401
    except ImportError:
        return False
    return True
