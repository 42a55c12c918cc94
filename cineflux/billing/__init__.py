"""Billing: plans, subscriptions, payments through a provider port, invoices."""
