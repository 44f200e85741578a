"""A person named without the ID number: a keyed hash (HMAC-SHA256) of it, as the register of entitlements keeps
persons (issue 12, 第三十五条: data minimised). The key is the gateway's secret; rotating it changes every
reference. Pure: the key comes in as bytes."""

from __future__ import annotations

import hashlib
import hmac


def person_ref(key: bytes, id_number: str) -> str:
    """The hex HMAC-SHA256 of the ID number (trimmed, a trailing x as X): the same person, the same reference."""
    return hmac.new(key, id_number.strip().upper().encode("ascii", "replace"), hashlib.sha256).hexdigest()
