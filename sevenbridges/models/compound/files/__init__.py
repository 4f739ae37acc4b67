"""Compound models nested in files: origin, storage location, metadata and download links."""
