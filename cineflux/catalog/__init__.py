"""Catalogue: the titles the service offers."""
