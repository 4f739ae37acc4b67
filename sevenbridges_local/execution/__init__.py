"""Task execution: the executor interface (``base``), cwltool (``cwltool_executor``), the task
worker pool (``pool``)."""
