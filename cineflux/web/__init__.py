"""Web app: server-rendered pages of the subscriber app, their templates and assets."""
