"""Seven Bridges ``sbg:draft-2`` apps, translated to CWL v1.0 for cwltool (pure, no I/O)."""

from sevenbridges_local.cwl_draft2.errors import Draft2Error
from sevenbridges_local.cwl_draft2.translate import DRAFT2_VERSIONS, is_draft2, translate

__all__ = ["DRAFT2_VERSIONS", "Draft2Error", "is_draft2", "translate"]
