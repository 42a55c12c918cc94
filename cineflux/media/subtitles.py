"""Subtitles: SRT and WebVTT in, validated WebVTT out. Pure text processing."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SRT_TIME = re.compile(
    r"^\s*(\d{1,2}):(\d{2}):(\d{2})[,.](\d{3})\s*-->\s*(\d{1,2}):(\d{2}):(\d{2})[,.](\d{3})(.*)$"
)
_VTT_TIME = re.compile(
    r"^\s*(?:(\d{1,}):)?(\d{2}):(\d{2})\.(\d{3})\s+-->\s+(?:(\d{1,}):)?(\d{2}):(\d{2})\.(\d{3})"
)


class InvalidSubtitles(ValueError):
    """A subtitle file that cannot be read; the message names the line."""


@dataclass(frozen=True)
class Cue:
    """One subtitle cue."""

    start: float
    end: float
    text: str


def _seconds(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def webvtt_timestamp(seconds: float) -> str:
    """``HH:MM:SS.mmm``, as WebVTT writes times."""
    total_ms = round(seconds * 1000)
    h, rest = divmod(total_ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _decode(data: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError:
            continue
    raise InvalidSubtitles(f"{name}: not text in UTF-8 or Windows-1252")


def _cue(
    lines: list[str], index: int, name: str, timing: re.Pattern[str], expected: str
) -> tuple[Cue, int]:
    """The cue whose timing line is ``lines[index]``, and the index after its text."""
    match = timing.match(lines[index])
    if not match:
        raise InvalidSubtitles(f"{name}: line {index + 1}: expected '{expected}'")
    g = match.groups()
    start, end = _seconds(*g[0:4]), _seconds(*g[4:8])
    if end <= start:
        raise InvalidSubtitles(f"{name}: line {index + 1}: cue ends before it starts")
    index += 1
    body = []
    while index < len(lines) and lines[index].strip():
        body.append(lines[index].rstrip())
        index += 1
    return Cue(start, end, "\n".join(body)), index


def parse_srt(data: bytes, name: str = "subtitles") -> list[Cue]:
    """Cues of a SubRip file (UTF-8, or Windows-1252 as many French files are)."""
    text = _decode(data, name)
    cues: list[Cue] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        if not lines[index].strip():
            index += 1
            continue
        block_start = index
        if lines[index].strip().isdigit():
            index += 1
        if index >= len(lines):
            raise InvalidSubtitles(f"{name}: line {block_start + 1}: cue number without timing")
        cue, index = _cue(lines, index, name, _SRT_TIME, "HH:MM:SS,mmm --> HH:MM:SS,mmm")
        cues.append(cue)
    if not cues:
        raise InvalidSubtitles(f"{name}: no subtitle cue found")
    return cues


def parse_webvtt(data: bytes, name: str = "subtitles") -> list[Cue]:
    """Cues of a WebVTT file (NOTE, STYLE and REGION blocks are skipped)."""
    text = _decode(data, name)
    lines = text.split("\n")
    if not lines or not re.match(r"^WEBVTT([ \t].*)?$", lines[0]):
        raise InvalidSubtitles(f"{name}: line 1: a WebVTT file starts with 'WEBVTT'")
    cues: list[Cue] = []
    index = 1
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        if line.startswith(("NOTE", "STYLE", "REGION")):
            while index < len(lines) and lines[index].strip():
                index += 1
            continue
        if "-->" not in line:
            index += 1  # cue identifier
            if index >= len(lines) or "-->" not in lines[index]:
                raise InvalidSubtitles(f"{name}: line {index}: cue without timing")
        cue, index = _cue(lines, index, name, _VTT_TIME, "HH:MM:SS.mmm --> HH:MM:SS.mmm")
        cues.append(cue)
    if not cues:
        raise InvalidSubtitles(f"{name}: no subtitle cue found")
    return cues


def read_subtitles(data: bytes, name: str) -> list[Cue]:
    """Cues of an SRT or WebVTT file, chosen by content (WebVTT starts with ``WEBVTT``)."""
    head = data[:16].lstrip(b"\xef\xbb\xbf")
    if head.startswith(b"WEBVTT"):
        return parse_webvtt(data, name)
    return parse_srt(data, name)


def to_webvtt(cues: list[Cue]) -> str:
    """A WebVTT document of these cues, in time order."""
    blocks = ["WEBVTT", ""]
    for cue in sorted(cues, key=lambda c: (c.start, c.end)):
        blocks += [f"{webvtt_timestamp(cue.start)} --> {webvtt_timestamp(cue.end)}", cue.text, ""]
    return "\n".join(blocks)
