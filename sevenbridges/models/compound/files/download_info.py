"""The signed link a file's bytes are fetched from."""

from __future__ import annotations

from sevenbridges.meta.fields import HrefField
from sevenbridges.meta.resource import Resource


class DownloadInfo(Resource):
    """Answer of ``GET /files/{id}/download_info``: ``url`` works without a token until expiry."""

    url = HrefField(read_only=True)

    def __str__(self) -> str:
        # The query string carries the signature, which is as good as a password until expiry.
        url = self.field("url") or ""
        shown = url.split("?", 1)[0] + "?…" if "?" in url else url
        return f"<DownloadInfo: url={shown}>"

    __repr__ = __str__
