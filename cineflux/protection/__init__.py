"""Content protection: per-title content keys (CENC), the key store, licences."""
