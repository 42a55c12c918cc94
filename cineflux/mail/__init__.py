"""Mail: an outbox written in the caller's transaction, delivered over SMTP by a sender."""
