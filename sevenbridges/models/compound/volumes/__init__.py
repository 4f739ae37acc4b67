"""Shapes nested in volumes and their listings."""
