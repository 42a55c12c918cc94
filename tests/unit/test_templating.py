"""Template helpers of the web app."""

from __future__ import annotations

import pytest

from cineflux.web.templating import format_duration


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(20.04, "0:20"), (75, "1:15"), (754, "12 min"), (5520, "1 h 32 min"), (3630, "1 h 00 min")],
)
def test_running_times_read_as_viewers_expect(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown
