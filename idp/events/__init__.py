"""Audit events and the notification outbox, written in the caller's transaction."""
