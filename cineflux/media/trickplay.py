"""Trickplay: the WebVTT index that maps time ranges to tiles of the sprite sheets."""

from __future__ import annotations

import math
from dataclasses import dataclass

from cineflux.media.subtitles import webvtt_timestamp


@dataclass(frozen=True)
class SpriteSheet:
    """One sprite sheet written for a chunk: its file, and the tiles it really holds."""

    file_name: str
    first_time: float  # media time of its first tile
    tiles: int


def sprites_for_chunk(
    chunk_start: float, chunk_duration: float, interval: float, columns: int, rows: int
) -> list[tuple[int, float, int]]:
    """(sheet number from 1, first tile time, tile count) of a chunk's sheets."""
    tiles = max(1, math.ceil(chunk_duration / interval - 1e-9))
    per_sheet = columns * rows
    sheets = []
    for sheet in range(math.ceil(tiles / per_sheet)):
        count = min(per_sheet, tiles - sheet * per_sheet)
        sheets.append((sheet + 1, chunk_start + sheet * per_sheet * interval, count))
    return sheets


def thumbnails_vtt(
    sheets: list[SpriteSheet],
    *,
    interval: float,
    columns: int,
    tile_width: int,
    tile_height: int,
    duration: float,
) -> str:
    """WebVTT cues ``sprite.jpg#xywh=x,y,w,h``, one per tile, covering the title."""
    lines = ["WEBVTT", ""]
    for sheet in sheets:
        for tile in range(sheet.tiles):
            start = sheet.first_time + tile * interval
            if start >= duration:
                break
            end = min(start + interval, duration)
            x = (tile % columns) * tile_width
            y = (tile // columns) * tile_height
            lines += [
                f"{webvtt_timestamp(start)} --> {webvtt_timestamp(end)}",
                f"{sheet.file_name}#xywh={x},{y},{tile_width},{tile_height}",
                "",
            ]
    return "\n".join(lines)
