"""Downloads (rest-api.md §5): a signed data-plane URL for a file the caller may take out of its
project (the ``copy`` permission, as for copies). Volume aliases are read from their bucket:
a presigned URL of the provider, or a URL of this API that streams the object."""

from __future__ import annotations

import logging

from sevenbridges_local import errors
from sevenbridges_local.services import billing, files, volume_reads
from sevenbridges_local.services.context import ServiceContext
from sevenbridges_local.services.volumes import VolumeRuntime
from sevenbridges_local.signing import SignedUrl, TransferLinks

logger = logging.getLogger(__name__)


def download_url(
    ctx: ServiceContext,
    file_id: str,
    links: TransferLinks,
    runtime: VolumeRuntime | None = None,
    api_base: str = "",
) -> SignedUrl:
    """The ``copy`` permission on the file's project (403/5001 without it; non-members 404/5002);
    folders are refused (400/5017).

    The egress ledger gets a row when the URL is handed out: the data plane never touches the
    database, so this is where a download becomes visible to billing.
    """
    found = files.file_for_download(ctx, file_id)
    if volume_reads.is_alias(found):
        if runtime is None:
            raise errors.unavailable("Volumes are not ready yet; try again in a moment.")
        source = volume_reads.alias_source(ctx.session, runtime, found)
        billing.record_egress(
            ctx.session, project=found.project, username=ctx.actor.username, size_bytes=found.size
        )
        ctx.session.commit()  # no transaction while the provider answers
        url = volume_reads.presigned_download(
            source, runtime.clouds, links.ttl_seconds, presign=runtime.presigned_downloads
        )
        if url is not None:
            return SignedUrl(url, links.signer.expiry_for(links.ttl_seconds))
        path = volume_reads.content_path(found.id)
        expires = links.signer.expiry_for(links.ttl_seconds)
        query = links.signer.query("GET", path, expires)
        return SignedUrl(f"{api_base}{path}?{query}", expires)
    if not found.blob_key:
        raise errors.not_found(
            f"File '{file_id}' has no content stored on this platform.", files.FILE_NOT_FOUND
        )
    billing.record_egress(
        ctx.session, project=found.project, username=ctx.actor.username, size_bytes=found.size
    )
    ctx.session.commit()
    return links.object_download(found.blob_key, found.size)
