"""moto's server with request authentication that lets presigned (query-signed) requests in.

moto 5 checks a request's identity from its ``Authorization`` header only: a presigned URL has
none, so with authentication on, every presigned GET or PUT gets a 500 (moto looks the header up
and fails). The S3 blob store hands clients presigned part and download URLs, and S3 volumes
need authentication (a wrong secret key must be refused), so a platform whose files and volumes
share one S3 endpoint (``tests/e2e/test_scaled_backends.py``) needs both at once. This launcher
lets requests that carry ``X-Amz-Signature`` in their query through without an identity check
(as ``tests/storage_fixtures.py``'s unauthenticated moto does for every request) and checks all
others as moto always does. Run it as ``python tests/moto_presigned_server.py -H HOST -p PORT``.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import parse_qs, urlparse

from moto.core.authorization import ActionAuthenticatorMixin

_checked = ActionAuthenticatorMixin._authenticate_and_authorize_action


def _presigned_or_checked(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    query = parse_qs(urlparse(self.uri).query)
    if "X-Amz-Signature" in query and "Authorization" not in self.headers:
        return  # presigned: moto cannot check it (see the module docstring)
    _checked(self, iam_request_cls, resource)


ActionAuthenticatorMixin._authenticate_and_authorize_action = _presigned_or_checked  # type: ignore[method-assign]

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
