"""``sbg demo``: start a throw-away local platform and walk through the main client flow.

Everything happens against a real server (a subprocess on a loopback port) with the regular
``sevenbridges`` client, so the output shows what a user's own script would see.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

OWNER = "admin"
COLLABORATOR = "collaborator"
ENDPOINT_FIELDS = (
    "user_url",
    "users_url",
    "projects_url",
    "billing_url",
    "rate_limit_url",
    "files_url",
    "tasks_url",
    "apps_url",
)
PERMISSION_NAMES = ("read", "copy", "write", "execute", "admin")


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Plain-text table with left-aligned columns; ``None`` shows as an empty cell."""
    text_rows = [["" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in text_rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "  ".join(padded).rstrip()

    output = [line(headers), line(["-" * width for width in widths])]
    output.extend(line(row) for row in text_rows)
    if not text_rows:
        output.append("(none)")
    return "\n".join(output)


def format_permissions(permissions: Any) -> str:
    granted = [name for name in PERMISSION_NAMES if permissions and permissions[name]]
    return ",".join(granted) or "-"


def format_price(price: Any) -> str:
    if price is None:
        return ""
    return f"{price.amount:.2f} {price.currency}"


class Demo:
    """The demo steps, each printing a titled section to ``out``."""

    def __init__(self, url: str, owner_token: str, collaborator_token: str, out: TextIO) -> None:
        import sevenbridges as sbg

        self.out = out
        self.owner_api = sbg.Api(url=url, token=owner_token)
        self.collaborator_api = sbg.Api(url=url, token=collaborator_token)

    def section(self, title: str, body: str = "") -> None:
        print(f"\n== {title}", file=self.out)
        if body:
            print(body, file=self.out)

    def run(self) -> None:
        self.show_endpoints()
        self.show_current_user()
        group = self.show_billing_groups()
        project = self.create_project(group)
        self.share_project(project)
        self.show_projects()
        self.show_members(project)
        self.show_invoices()

    def show_endpoints(self) -> None:
        endpoints = self.owner_api.endpoints.get()
        rows = [(name, getattr(endpoints, name)) for name in ENDPOINT_FIELDS]
        self.section("Endpoints", format_table(("resource", "url"), rows))

    def show_current_user(self) -> None:
        me = self.owner_api.users.me()
        rows = [
            ("username", me.username),
            ("email", me.email),
            ("name", " ".join(part for part in (me.first_name, me.last_name) if part)),
            ("role", me.role),
            ("rate limit", f"{self.owner_api.remaining} of {self.owner_api.limit} left"),
        ]
        self.section("Current user", format_table(("field", "value"), rows))

    def show_billing_groups(self) -> Any:
        groups = list(self.owner_api.billing_groups.query().all())
        rows = [(g.id, g.name, g.owner, g.type, format_price(g.balance)) for g in groups]
        self.section(
            "Billing groups",
            format_table(("id", "name", "owner", "type", "balance"), rows),
        )
        if not groups:
            raise RuntimeError(f"user {OWNER!r} has no billing group to charge a project to")
        return groups[0]

    def create_project(self, group: Any) -> Any:
        project = self.owner_api.projects.create(
            name=f"Demo project {time.strftime('%Y-%m-%d %H%M%S')}",
            billing_group=group.id,
            description="Created by `sbg demo`.",
            tags=["demo"],
        )
        rows = [
            ("id", project.id),
            ("name", project.name),
            ("billing group", project.billing_group),
            ("tags", ", ".join(project.tags or [])),
            ("created on", project.created_on),
        ]
        self.section(f"Created project {project.id}", format_table(("field", "value"), rows))
        return project

    def share_project(self, project: Any) -> None:
        member = project.add_member(
            user=COLLABORATOR,
            permissions={
                "read": True,
                "copy": True,
                "write": False,
                "execute": False,
                "admin": False,
            },
        )
        self.section(
            f"Added member {member.username}",
            f"permissions: {format_permissions(member.permissions)}",
        )
        member = project.get_member(COLLABORATOR)
        member.permissions["write"] = True
        member.save()
        changed = project.get_member(COLLABORATOR)
        self.section(
            f"Changed permissions of {changed.username}",
            f"permissions: {format_permissions(changed.permissions)}",
        )

    def show_projects(self) -> None:
        for username, api in ((OWNER, self.owner_api), (COLLABORATOR, self.collaborator_api)):
            projects = list(api.projects.query(limit=100).all())
            rows = [(p.id, p.name, p.created_by) for p in projects]
            self.section(
                f"Projects visible to {username}",
                format_table(("id", "name", "created by"), rows),
            )

    def show_members(self, project: Any) -> None:
        for username, api in ((OWNER, self.owner_api), (COLLABORATOR, self.collaborator_api)):
            seen = api.projects.get(project.id)
            rows = [
                (m.username, m.type, format_permissions(m.permissions))
                for m in seen.get_members().all()
            ]
            self.section(
                f"Members of {project.id}, as seen by {username}",
                format_table(("username", "type", "permissions"), rows),
            )

    def show_invoices(self) -> None:
        invoices = list(self.owner_api.invoices.query().all())
        rows = []
        for invoice in invoices:
            period = invoice.invoice_period
            rows.append(
                (
                    invoice.id,
                    period.from_.date() if period and period.from_ else "",
                    period.to.date() if period and period.to else "",
                    "yes" if invoice.pending else "no",
                    format_price(invoice.total),
                )
            )
        self.section(
            "Invoices",
            format_table(("id", "from", "to", "pending", "total"), rows),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sbg demo",
        description="Start a temporary local platform and run the main client flow against it.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="keep the platform's data in this directory instead of a temporary one",
    )
    args = parser.parse_args([] if argv is None else argv)

    try:
        from sevenbridges_local.embedded import EmbeddedServer
    except ImportError as exc:
        print(
            "sbg demo needs the local platform: pip install 'sevenbridges-toolkit[local]' "
            f"({exc})",
            file=sys.stderr,
        )
        return 2

    with tempfile.TemporaryDirectory(prefix="sbg-demo-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        server = None
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            print(f"Starting a local platform (data in {data_dir}) ...", flush=True)
            server = EmbeddedServer(data_dir)
            server.start()
            print(f"Platform ready at {server.url}", flush=True)
            Demo(
                server.url,
                owner_token=server.token(OWNER),
                collaborator_token=server.token(COLLABORATOR),
                out=sys.stdout,
            ).run()
        except Exception as exc:  # any failure ends the demo with a readable message
            print(f"\nsbg demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        finally:
            if server is not None:
                server.stop()
                print("\nPlatform stopped.", flush=True)
    print("Demo finished successfully.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
