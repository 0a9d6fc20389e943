"""Uploaded XML, read safely and with line numbers, for the Nessus and Nexpose converters.

Parsing goes through defusedxml (no entity expansion, no external references: the file
comes from a caller). ElementTree keeps no line numbers, so the tree builder notes the
line of every start tag in an attribute of its own namespace, and `line_of` reads it
back: an error about a host or a test can then say where it is.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from garrison.vulnerabilities.model import ScanFileError

LINE = "{urn:garrison:line}"  # an attribute no real document uses


class _LineBuilder(ET.TreeBuilder):
    """A tree builder that notes each element's line (read from its parser)."""

    def __init__(self) -> None:
        super().__init__()
        self.parser: Any = None

    def start(self, tag: Any, attrs: dict[str, str]) -> ET.Element:
        line = self.parser.parser.CurrentLineNumber if self.parser is not None else 0
        return super().start(tag, {**attrs, LINE: str(line)})


def parse(data: bytes, what: str) -> ET.Element:
    """The root element of ``data``; ScanFileError (with the line) when it is not
    well-formed XML or uses what defusedxml forbids. ``what`` names the format."""
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder)
    builder.parser = parser
    try:
        parser.feed(data)
        return parser.close()
    except ET.ParseError as exc:
        line, _column = exc.position
        reason = str(exc).split(":")[0]
        raise ScanFileError(f"the file is not well-formed XML ({reason})", line) from None
    except DefusedXmlException:
        raise ScanFileError(
            f"the {what} file declares XML entities or external references, "
            "which are refused for safety"
        ) from None


def line_of(element: ET.Element) -> int | None:
    """The line of ``element``'s start tag."""
    text = element.get(LINE, "")
    return int(text) if text.isdigit() else None


def attribute(element: ET.Element, name: str) -> str:
    """An attribute's value, stripped; "" when absent."""
    return (element.get(name) or "").strip()


def text_of(element: ET.Element | None) -> str:
    """An element's own text, stripped; "" for none."""
    return "" if element is None or element.text is None else element.text.strip()


def local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rpartition("}")[2]
