"""Logo uploads: PNG, JPEG or WebP only (never SVG, which can carry script), at most 512 KB."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from uuid import UUID

from PIL import Image

from tenantry.lib.forms import InvalidInput

MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_PIXELS = 4096 * 4096
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Logo:
    data: bytes
    content_type: str
    sha256: str


def inspect_logo(data: bytes, *, field: str = "logo") -> Logo:
    """Check the bytes really are a small PNG, JPEG or WebP image; the file name and the browser's
    claimed type are ignored."""
    if len(data) > MAX_LOGO_BYTES:
        raise InvalidInput.on(field, f"This file is {_size(len(data))}; a logo can be at most 512 KB.")
    if b"<svg" in data[:1024].lower():
        raise InvalidInput.on(field, "SVG logos aren't accepted. Upload a PNG, JPEG or WebP image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format = image.format
                width, height = image.size
                image.verify()
    except Exception:
        raise InvalidInput.on(field, "This file isn't a PNG, JPEG or WebP image.") from None
    if image_format not in CONTENT_TYPES:
        raise InvalidInput.on(field, "Upload a PNG, JPEG or WebP image.")
    if width * height > MAX_LOGO_PIXELS:
        raise InvalidInput.on(field, "The image is too large; use at most 4096 × 4096 pixels.")
    return Logo(data=data, content_type=CONTENT_TYPES[image_format], sha256=hashlib.sha256(data).hexdigest())


def _size(byte_count: int) -> str:
    if byte_count >= 1024 * 1024:
        return f"{byte_count / (1024 * 1024):.1f} MB"
    return f"{byte_count // 1024:,} KB"


def logo_url(org_id: UUID, sha256: str | None) -> str | None:
    """Addressed by org and content: cacheable forever, and a logo's hash alone reveals nothing."""
    return f"/media/logos/{org_id}/{sha256}" if sha256 else None
