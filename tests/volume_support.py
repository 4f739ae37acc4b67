"""Helpers for the volume tests: request bodies for every volume kind, a test RSA key."""

from __future__ import annotations

import functools
import uuid
from typing import Any

GCS_EMAIL = "volume-reader@sbg-tests.iam.gserviceaccount.com"


@functools.cache
def private_key_pem() -> str:
    """A throw-away RSA key in PEM (what a service account key file holds)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def iam_configuration() -> dict[str, Any]:
    """A workload identity federation document of the shape Google gives for AWS sources."""
    return {
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/"
        "providers/sbg",
        "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
        "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/"
        "-/serviceAccounts/reader@sbg-tests.iam.gserviceaccount.com:generateAccessToken",
        "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": {
            "environment_id": "aws1",
            "region_url": "http://169.254.169.254/latest/meta-data/placement/availability-zone",
            "url": "http://169.254.169.254/latest/meta-data/iam/security-credentials",
            "regional_cred_verification_url": "https://sts.{region}.amazonaws.com"
            "?Action=GetCallerIdentity&Version=2011-06-15",
        },
    }


def volume_name(prefix: str = "vol") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def s3_body(moto_cloud, bucket: str, name: str | None = None, **extra: Any) -> dict[str, Any]:
    service = {
        "type": "S3",
        "bucket": bucket,
        "credentials": {
            "access_key_id": moto_cloud.reader.access_key_id,
            "secret_access_key": moto_cloud.reader.secret_access_key,
        },
    }
    service.update(extra.pop("service", {}))
    return {"name": name or volume_name(), "access_mode": "RW", "service": service, **extra}


def role_body(moto_cloud, bucket: str, name: str | None = None) -> dict[str, Any]:
    credentials = {"role_arn": moto_cloud.role_arn, "external_id": moto_cloud.external_id}
    return {
        "name": name or volume_name("role"),
        "access_mode": "RO",
        "service": {"type": "S3", "bucket": bucket, "credentials": credentials},
    }


def gcs_body(bucket: str, name: str | None = None) -> dict[str, Any]:
    credentials = {"client_email": GCS_EMAIL, "private_key": private_key_pem()}
    return {
        "name": name or volume_name("gcs"),
        "access_mode": "RO",
        "service": {"type": "GCS", "bucket": bucket, "credentials": credentials},
    }


def oss_body(moto_cloud, bucket: str, endpoint: str, name: str | None = None) -> dict[str, Any]:
    body = s3_body(moto_cloud, bucket, name or volume_name("oss"))
    body["service"]["type"] = "OSS"
    body["service"]["endpoint"] = endpoint
    return body
