"""Seven Bridges ``sbg:draft-2`` apps, translated to CWL v1.0 for cwltool (pure, no I/O)."""

from typing import Any

from sevenbridges_local.cwl_draft2.errors import Draft2Error
from sevenbridges_local.cwl_draft2.translate import DRAFT2_VERSIONS, is_draft2, translate

__all__ = ["DRAFT2_VERSIONS", "Draft2Error", "is_draft2", "runnable", "translate"]


def runnable(document: dict[str, Any]) -> dict[str, Any]:
    """What cwltool runs for a stored app: the v1.0 translation of a draft-2 document (made
    for a run, see :func:`translate`), any other document unchanged."""
    return translate(document, for_run=True) if is_draft2(document) else document
