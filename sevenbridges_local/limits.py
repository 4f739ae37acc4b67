"""Size limits on what clients send, in one place (documented in docs/internals.md, "Limits").

The request models in ``api/`` enforce them before a service runs; services use the same numbers
for totals that only exist after a merge (file metadata). Where the platform's own limits are
known they are kept (bulk items, upload parts); the others are chosen to be generous for real use
and small enough that no single request holds the database for long, and that a page of 100
files carrying the most tags and metadata still lists in about a second.
"""

from __future__ import annotations

# Request bodies (the data plane, which receives file parts, has its own rules).
MAX_JSON_BODY_BYTES = 4 * 1024 * 1024
MAX_RAW_APP_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64
# Integers must fit a signed 64-bit column (SQLite INTEGER, PostgreSQL bigint).
MAX_JSON_INTEGER = 2**63 - 1
MIN_JSON_INTEGER = -(2**63)

# Paging: offset is bound by the database's bigint; limit is clamped, never refused when large.
MAX_OFFSET = 2**63 - 1
DEFAULT_LIMIT = 50
MAX_LIMIT = 100

# Free text and labels.
MAX_DESCRIPTION_LENGTH = 100_000
MAX_TAGS = 100
MAX_TAG_LENGTH = 255
MAX_METADATA_KEYS = 200
MAX_METADATA_KEY_LENGTH = 255
MAX_METADATA_VALUE_LENGTH = 1_000
MAX_SETTINGS_KEYS = 100
MAX_USER_REFERENCE_LENGTH = 255  # a username or an e-mail address in a member request
MAX_SEARCH_QUERY_LENGTH = 65_536
# Query filters: values of one repeated parameter (?tag=a&tag=b), and metadata.<key> /
# origin.<key> filters of one file listing. Each becomes a condition of one SQL statement,
# which SQLite refuses past 1,000 levels of expression depth.
MAX_FILTER_VALUES = 100

# Volumes: object locations and prefixes (S3 keys are at most 1,024 bytes), credentials, the
# continuation tokens clients hand back.
MAX_VOLUME_LOCATION_LENGTH = 1_024
MAX_CREDENTIAL_LENGTH = 2_048
MAX_PRIVATE_KEY_LENGTH = 16_384
MAX_CONTINUATION_TOKEN_LENGTH = 4_096

# Lists of items in one request.
MAX_BULK_ITEMS = 100
MAX_ASYNC_JOB_ITEMS = 1_000
MAX_UPLOAD_PARTS = 10_000
MAX_TASK_INPUTS = 1_000
MAX_OUTPUT_LOCATIONS = 1_000
MAX_BATCH_CRITERIA = 100
