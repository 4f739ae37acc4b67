"""SQLAlchemy models of volumes and their members (schema: migration 0006).

A volume row keeps the public part of its service (type, bucket, prefix, endpoint, the
credentials' public keys such as ``access_key_id``) as JSON and the secret part (secret keys,
private keys, external ids) only sealed with the platform's key (``security.SecretBox``, bound
to the row's random ``secret_context``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.models import Base, User


class Volume(Base):
    __tablename__ = "volumes"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_volumes_owner_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    access_mode: Mapped[str] = mapped_column(String(2), default="RW")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    service_type: Mapped[str] = mapped_column(String(8))
    # type, bucket, prefix, endpoint, root_url, properties and the credentials' public keys.
    service: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The credentials' secret keys as sealed JSON ("v1:..."); never rendered.
    secret: Mapped[str] = mapped_column(Text)
    secret_context: Mapped[str] = mapped_column(String(32))
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    modified_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    owner: Mapped[User] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<Volume {self.id} {self.name!r}>"


class VolumeMember(Base):
    """A user's permissions on a volume (``read``, ``copy``, ``write``, ``admin``)."""

    __tablename__ = "volume_members"

    volume_id: Mapped[int] = mapped_column(
        ForeignKey("volumes.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read: Mapped[bool] = mapped_column(Boolean, default=True)
    copy: Mapped[bool] = mapped_column(Boolean, default=False)
    write: Mapped[bool] = mapped_column(Boolean, default=False)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_on: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
