"""File transfers: ``upload.Upload``, ``download.Download`` and helpers in ``utils``."""
