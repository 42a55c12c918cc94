"""Delivery: playback URLs, and serving published media over HTTP."""
