"""Errors of the delivery network's control plane."""

from __future__ import annotations


class DeliveryError(Exception):
    """Base of the delivery network's errors."""


class CoverageZonesInvalid(DeliveryError):
    """A coverage zone file that cannot be used; the message says where and why."""


class SiteNotFound(DeliveryError):
    """No edge ever registered in this site."""


class InvalidHeartbeat(DeliveryError):
    """A heartbeat whose content cannot be accepted."""


class InvalidFillWindow(DeliveryError):
    """A fill window that is not ``HH:MM-HH:MM``."""


class EdgeRequestRejected(DeliveryError):
    """An edge's request whose signature does not hold."""


class EdgeSignatureInvalid(EdgeRequestRejected):
    """Unsigned, signed by an unknown key, or forged."""


class EdgeSignatureStale(EdgeRequestRejected):
    """Genuinely signed, but too long ago (or too far ahead): a replay, or a skewed clock."""
