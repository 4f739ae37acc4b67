"""Downloads (rest-api.md §5): a signed data-plane URL for a file the caller may take out of its
project (the ``copy`` permission, as for copies)."""

from __future__ import annotations

import logging

from sevenbridges_local import errors
from sevenbridges_local.services import billing, files
from sevenbridges_local.services.context import ServiceContext
from sevenbridges_local.signing import SignedUrl, TransferLinks

logger = logging.getLogger(__name__)


def download_url(ctx: ServiceContext, file_id: str, links: TransferLinks) -> SignedUrl:
    """The ``copy`` permission on the file's project (403/5001 without it; non-members 404/5002);
    folders are refused (400/5017).

    The egress ledger gets a row when the URL is handed out: the data plane never touches the
    database, so this is where a download becomes visible to billing.
    """
    found = files.file_for_download(ctx, file_id)
    if not found.blob_key:
        raise errors.not_found(
            f"File '{file_id}' has no content stored on this platform.", files.FILE_NOT_FOUND
        )
    billing.record_egress(
        ctx.session, project=found.project, username=ctx.actor.username, size_bytes=found.size
    )
    ctx.session.commit()
    return links.object_download(found.blob_key)
