"""The one way tests wait for something that happens in another thread or process.

A test that waits asks a question again and again (`observe`) until the answer is good (`until`); when time
runs out it fails saying what it waited for and the last answer it saw, so a red run says "waiting for 6
deliveries; last seen: 5 files [...]" instead of a bare timeout or, worse, a later assertion on a stale state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_SHOWN = 1600  # characters of the last answer shown in a failure: enough to see, short enough to read


def anything(_: object) -> bool:
    """`until` for a call awaited only to stop raising (a server back, a database restarted)."""
    return True


def wait_for(
    observe: Callable[[], T],
    *,
    what: str,
    until: Callable[[T], object] = bool,
    seconds: float = 30,
    every: float = 0.05,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = (),
) -> T:
    """Call `observe` every `every` seconds until `until(answer)` holds; return that answer.

    `retry_on`: exceptions that mean "not yet" (the answer seen is then the exception). On timeout an
    AssertionError names `what` and shows the last answer seen.
    """
    deadline = time.monotonic() + seconds
    seen: object = "nothing yet (never asked)"
    while True:
        try:
            answer = observe()
        except retry_on as exc:
            seen = f"raised {exc!r}"
        else:
            if until(answer):
                return answer
            seen = answer
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}; last seen: {_shown(seen)}")
        time.sleep(every)


def _shown(seen: object) -> str:
    """Its start and its end when long (a daemon's output says most at its end)."""
    text = seen if isinstance(seen, str) else repr(seen)
    if len(text) <= _SHOWN:
        return text
    half = _SHOWN // 2
    return f"{text[:half]} [... {len(text) - _SHOWN} characters ...] {text[-half:]}"
