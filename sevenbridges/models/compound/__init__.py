"""Nested value objects that appear inside resources (prices, errors, permissions, ...)."""
