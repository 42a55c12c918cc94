"""Cineflux: an open-source subscription video-on-demand platform."""

__version__ = "0.1.0"
