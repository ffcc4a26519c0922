"""Brand colours: parsing, and which text colour reads on top of one (WCAG contrast)."""

from __future__ import annotations

import re

HEX_COLOR = re.compile(r"^#[0-9a-f]{6}$")


def normalize_hex_color(value: str) -> str | None:
    """'#1F6FEB' or '1f6feb' or '#abc' -> '#1f6feb'; None when it is not a colour."""
    text = value.strip().lower()
    if not text.startswith("#"):
        text = "#" + text
    if re.fullmatch(r"#[0-9a-f]{3}", text):
        text = "#" + "".join(ch * 2 for ch in text[1:])
    return text if HEX_COLOR.fullmatch(text) else None


def _relative_luminance(hex_color: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((_relative_luminance(a), _relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_text_color(background: str) -> str:
    """Black or white, whichever contrasts more with the background."""
    return "#000000" if contrast_ratio(background, "#000000") >= contrast_ratio(background, "#ffffff") else "#ffffff"
