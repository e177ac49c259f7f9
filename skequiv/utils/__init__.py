"""Utilities shared across skequiv."""
