"""What an indicator's labels say to the SMS: skip it (``benign``), its severity and its
confidence. Pure.

The regular expressions are the SMS's own (facts sheet §1.2): ``sms-severity-high``,
``feed-x-severity-medium``, ``severity-low`` give a severity; ``sms-confidence-75``,
``confidence-100`` a confidence from 0 to 100. They are matched in ASCII (so that no
Unicode case folding or digit makes a label match that the SMS would not) and over the
whole label. The first label that matches wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SEVERITY = re.compile(r"(?i)^([a-z0-9]+-)*severity-([a-z0-9]+-)?(high|low|medium)$", re.ASCII)
CONFIDENCE = re.compile(r"(?i)^([a-z0-9]+-)*confidence-(\d|[1-9]\d|100)$", re.ASCII)
BENIGN = "benign"
# A label longer than this is no severity or confidence label: it is not matched at all,
# which keeps a hostile 2 MiB label from costing more than a short one.
MAX_LABEL = 256
# The values of the `STIX - Severity` list category, by the word a label ends with.
SEVERITIES = {"high": "High", "medium": "Medium", "low": "Low"}


def is_benign(labels: Iterable[str]) -> bool:
    return any(label.strip().lower() == BENIGN for label in labels)


def severity(labels: Iterable[str]) -> str | None:
    """``High``, ``Medium`` or ``Low`` from the first severity label, else None."""
    for label in labels:
        match = SEVERITY.fullmatch(label) if len(label) <= MAX_LABEL else None
        if match:
            return SEVERITIES[match.group(3).lower()]
    return None


def confidence(labels: Iterable[str]) -> int | None:
    """0 to 100 from the first confidence label, else None."""
    for label in labels:
        match = CONFIDENCE.fullmatch(label) if len(label) <= MAX_LABEL else None
        if match:
            return int(match.group(2))
    return None
