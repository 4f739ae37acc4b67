"""``sbg demo``: start a throw-away local platform and walk through the main client flow.

Users, billing, a shared project, then apps and tasks: a public app installed into the project,
sample reads uploaded with metadata, a batch task (one child per sample) followed live, and the
outputs downloaded into a results table.

Everything happens against a real server (a subprocess on a loopback port) with the regular
``sevenbridges`` client, so the output shows what a user's own script would see.
"""

from __future__ import annotations

import argparse
import json
import random
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

# The public app the demo runs, and the name it gets when installed into the demo project.
PUBLIC_APP_ID = "admin/public-apps/fastq-stats"
DEMO_APP_SLUG = "fastq-stats"
# Sample reads the demo writes: (sample id, number of reads), all reads READ_LENGTH bases long.
SAMPLE_READS = (("NA12878", 24), ("NA12891", 40), ("NA12892", 12), ("HG00096", 32))
READ_LENGTH = 36
BATCH_INPUT = "reads"
BATCH_CRITERIA = ["metadata.sample_id"]
PROGRESS_POLL_SECONDS = 0.5
TASK_TIMEOUT_SECONDS = 600
PROGRESS_BAR_WIDTH = 20


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


def write_sample_reads(directory: Path, sample_id: str, reads: int) -> Path:
    """A small FASTQ file of ``reads`` random reads; the same sample always gets the same reads."""
    generator = random.Random(sample_id)
    lines = []
    for number in range(1, reads + 1):
        sequence = "".join(generator.choice("ACGT") for _ in range(READ_LENGTH))
        lines += [f"@{sample_id}.{number}", sequence, "+", "I" * READ_LENGTH]
    path = directory / f"{sample_id}.fastq"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def progress_bar(done: int, total: int, width: int = PROGRESS_BAR_WIDTH) -> str:
    """``[#####---------------]`` for ``done`` of ``total``."""
    filled = width * done // total if total else 0
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def format_seconds(milliseconds: Any) -> str:
    return f"{milliseconds / 1000:.1f} s" if isinstance(milliseconds, int) else ""


class Demo:
    """The demo steps, each printing a titled section to ``out``."""

    def __init__(
        self,
        url: str,
        owner_token: str,
        collaborator_token: str,
        out: TextIO,
        workdir: Path | None = None,
        results_dir: Path | None = None,
    ) -> None:
        import sevenbridges as sbg

        self.out = out
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="sbg-demo-work-"))
        #: Where the downloaded outputs go; they stay after the demo (the rest is temporary).
        self.results_dir = results_dir or self.workdir / "results"
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
        app = self.install_app(project)
        reads = self.upload_reads(project)
        task = self.run_batch_task(project, app, reads)
        self.show_results(task)

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

    # ----------------------------------------------------------------- apps and tasks

    def install_app(self, project: Any) -> Any:
        public = list(self.owner_api.apps.query(visibility="public", limit=100).all())
        rows = [(app.id, app.revision, app.name) for app in public]
        self.section("Public apps", format_table(("id", "revision", "name"), rows))
        source = next((app for app in public if app.id == PUBLIC_APP_ID), None)
        if source is None:
            raise RuntimeError(f"the platform has no public app {PUBLIC_APP_ID}")
        # Install the public app's CWL as an app of the demo project.
        app = self.owner_api.apps.install_app(id=f"{project.id}/{DEMO_APP_SLUG}", raw=source.raw)
        inputs = ", ".join(sorted(_port_ids(app.raw.get("inputs"))))
        outputs = ", ".join(sorted(_port_ids(app.raw.get("outputs"))))
        rows = [
            ("id", app.id),
            ("revision", app.revision),
            ("name", app.name),
            ("inputs", inputs),
            ("outputs", outputs),
        ]
        self.section(f"Installed app {app.id}", format_table(("field", "value"), rows))
        return app

    def upload_reads(self, project: Any) -> list[Any]:
        reads_dir = self.workdir / "reads"
        reads_dir.mkdir(parents=True, exist_ok=True)
        uploaded = []
        for sample_id, read_count in SAMPLE_READS:
            path = write_sample_reads(reads_dir, sample_id, read_count)
            upload = self.owner_api.files.upload(str(path), project=project, wait=True)
            file_ = upload.result()
            if file_ is None:
                raise RuntimeError(f"upload of {path.name} ended {upload.status}")
            file_.metadata["sample_id"] = sample_id
            file_.save()
            uploaded.append(file_)
        rows = [(f.name, f.size, f.metadata["sample_id"]) for f in uploaded]
        self.section("Uploaded reads", format_table(("file", "bytes", "sample_id"), rows))
        return uploaded

    def run_batch_task(self, project: Any, app: Any, reads: list[Any]) -> Any:
        task = self.owner_api.tasks.create(
            name="FASTQ statistics per sample",
            project=project,
            app=app,
            inputs={BATCH_INPUT: reads},
            batch_input=BATCH_INPUT,
            batch_by={"type": "criteria", "criteria": BATCH_CRITERIA},
            run=True,
        )
        self.section(
            f"Batch task {task.id}",
            f"app {task.app}, batch by {', '.join(BATCH_CRITERIA)}, {len(reads)} files",
        )
        self.follow(task)
        if task.status != "COMPLETED":
            raise RuntimeError(f"the batch task ended {task.status}")
        return task

    def follow(self, task: Any) -> None:
        """One line per change of the task's status or counters, until the task ends."""
        from sevenbridges.models.enums import TaskStatus

        started = time.monotonic()
        last_line = None
        while True:
            task.reload()
            status = task.execution_status
            counters = {
                name: (getattr(status, name, None) or 0) if status is not None else 0
                for name in ("queued", "running", "completed", "failed", "aborted")
            }
            total = sum(counters.values())
            finished = counters["completed"] + counters["failed"] + counters["aborted"]
            line = (
                f"{task.status:<10} {progress_bar(finished, total)} {finished}/{total} done"
                f" (queued {counters['queued']}, running {counters['running']},"
                f" failed {counters['failed']})"
            )
            if line != last_line:
                print(f"{time.monotonic() - started:6.1f}s  {line}", file=self.out, flush=True)
                last_line = line
            if task.status in TaskStatus.terminal_states:
                return
            if time.monotonic() - started > TASK_TIMEOUT_SECONDS:
                raise RuntimeError(f"task {task.id} did not finish in {TASK_TIMEOUT_SECONDS} s")
            time.sleep(PROGRESS_POLL_SECONDS)

    def show_results(self, task: Any) -> None:
        children = list(task.get_batch_children().all())
        rows = [
            (
                child.batch_group.value if child.batch_group else "",
                child.status,
                format_seconds(child.execution_status.duration if child.execution_status else None),
                child.name,
            )
            for child in children
        ]
        self.section(
            f"Children of {task.id}",
            format_table(("group", "status", "duration", "name"), rows),
        )
        results_dir = self.results_dir
        results_dir.mkdir(parents=True, exist_ok=True)
        results = []
        for child in children:
            stats_file = child.outputs["stats"]
            target = results_dir / stats_file.name
            stats_file.download(str(target), overwrite=True)
            stats = json.loads(target.read_text(encoding="utf-8"))
            reads_file = child.inputs[BATCH_INPUT]
            if isinstance(reads_file, list):  # a criteria group may arrive as a list of one
                reads_file = reads_file[0]
            results.append(
                (
                    reads_file.metadata["sample_id"],
                    stats["read_count"],
                    stats["base_count"],
                    stats["mean_length"],
                    stats["gc_percent"],
                    target.name,
                )
            )
        results.sort()
        self.section(
            f"Results (downloaded to {results_dir})",
            format_table(
                ("sample_id", "reads", "bases", "mean_length", "gc_percent", "file"), results
            ),
        )


def _port_ids(ports: Any) -> list[str]:
    """Ids of CWL inputs or outputs, given as a map or as a list of ports."""
    if isinstance(ports, dict):
        return [str(key) for key in ports]
    if isinstance(ports, list):
        return [str(port.get("id", "")).lstrip("#") for port in ports if isinstance(port, dict)]
    return []


DEFAULT_RESULTS_DIR = "sbg-demo-results"


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
    parser.add_argument(
        "--results",
        type=Path,
        default=Path(DEFAULT_RESULTS_DIR),
        help=f"where the task outputs are downloaded and kept (default: ./{DEFAULT_RESULTS_DIR})",
    )
    args = parser.parse_args([] if argv is None else argv)

    try:
        from sevenbridges_local.embedded import EmbeddedServer
    except ImportError as exc:
        print(
            f"sbg demo needs the local platform: pip install 'sevenbridges-toolkit[local]' ({exc})",
            file=sys.stderr,
        )
        return 2

    results_dir = args.results.resolve()
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="sbg-demo-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        server = None
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            print(f"Starting a local platform (data in {data_dir}) ...", flush=True)
            server = EmbeddedServer(data_dir)
            server.start()
            print(f"Platform ready at {server.url}", flush=True)
            workdir = Path(scratch) / "work"
            workdir.mkdir(parents=True, exist_ok=True)
            Demo(
                server.url,
                owner_token=server.token(OWNER),
                collaborator_token=server.token(COLLABORATOR),
                out=sys.stdout,
                workdir=workdir,
                results_dir=results_dir,
            ).run()
        except KeyboardInterrupt:
            interrupted = True
        except Exception as exc:  # any failure ends the demo with a readable message
            print(f"\nsbg demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        finally:
            _stop_quietly(server)
            if args.data_dir is None:
                print("The demo's platform data (a temporary directory) is removed.", flush=True)
    if interrupted:
        print("Demo interrupted.", file=sys.stderr, flush=True)
        return 130
    print(f"Results kept in {results_dir}")
    print("Demo finished successfully.")
    return 0


def _stop_quietly(server: Any) -> None:
    """Stop the platform even if Ctrl-C is pressed again meanwhile."""
    if server is None:
        return
    for _attempt in range(3):
        try:
            server.stop()
            break
        except KeyboardInterrupt:
            continue
    print("\nPlatform stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
