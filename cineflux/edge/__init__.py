"""The edge server: the data plane. Its own process; nothing here touches the database."""
