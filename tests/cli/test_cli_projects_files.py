"""``sbg projects ...`` and ``sbg files ...`` against the live platform."""

from __future__ import annotations

from pathlib import Path

from cli_support import as_json


def _project(sbg, rest, user: str, name: str) -> str:
    group = rest(user, "/billing/groups")["items"][0]["id"]
    created = as_json(sbg("projects", "create", "--name", name, "--billing-group", group, "--json"))
    assert created == rest(user, f"/projects/{created['id']}")
    return created["id"]


def test_projects_create_ls_show_members(sbg_as, rest, new_username) -> None:
    user = new_username("proj")
    sbg = sbg_as(user)
    project_id = _project(sbg, rest, user, "Study one")
    listed = as_json(sbg("projects", "ls", "--json"))
    assert listed == rest(user, "/projects", fields="_all", limit=100)["items"]
    assert project_id in [item["id"] for item in listed]
    assert as_json(sbg("projects", "show", project_id, "--json")) == rest(
        user, f"/projects/{project_id}"
    )
    members = as_json(sbg("projects", "members", project_id, "--json"))
    assert [member["username"] for member in members] == [user]
    table = sbg("projects", "members", project_id)
    assert "read,copy,write,execute,admin" in table.stdout
    assert sbg("projects", "show", f"{user}/missing").exit_code == 3
    bad_group = sbg("projects", "create", "--name", "x", "--billing-group", "not-a-uuid")
    assert bad_group.exit_code != 0 and "Traceback" not in bad_group.stderr


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_upload_directories_and_globs_then_download_the_project(
    sbg_as, rest, new_username, tmp_path: Path
) -> None:
    user = new_username("files")
    sbg = sbg_as(user)
    project_id = _project(sbg, rest, user, "Files")
    source = tmp_path / "source"
    (source / "run1" / "lane2").mkdir(parents=True)
    (source / "run1" / "a.fastq").write_text("@r1\nACGT\n+\nIIII\n")
    (source / "run1" / "lane2" / "b.fastq").write_bytes(b"@r2\nTTTT\n+\nIIII\n" * 1000)
    (source / "notes.txt").write_text("notes")
    (source / "x.csv").write_text("1,2\n")
    (source / "y.csv").write_text("3,4\n")

    uploaded = sbg(
        "files",
        "upload",
        str(source / "run1"),
        str(source / "notes.txt"),
        str(source / "*.csv"),
        "--project",
        project_id,
        "--recursive",
        "--json",
    )
    names = sorted(item["name"] for item in as_json(uploaded))
    assert names == ["a.fastq", "b.fastq", "notes.txt", "x.csv", "y.csv"]

    root = as_json(sbg("files", "ls", "--project", project_id, "--json"))
    assert root == rest(user, "/files", project=project_id, fields="_all", limit=100)["items"]
    assert sorted((item["name"], item["type"]) for item in root) == [
        ("notes.txt", "file"),
        ("run1", "folder"),
        ("x.csv", "file"),
        ("y.csv", "file"),
    ]

    target = tmp_path / "copy"
    downloaded = sbg("files", "download", "--project", project_id, str(target), "--recursive")
    assert downloaded.exit_code == 0, downloaded.stderr
    expected = _tree(source)
    assert _tree(target) == expected
    # Again: every file is already there.
    again = sbg("files", "download", "--project", project_id, str(target), "--recursive")
    assert again.exit_code == 0 and "5 skipped" in again.stderr

    notes = next(item for item in root if item["name"] == "notes.txt")
    single = tmp_path / "single.txt"
    assert sbg("files", "download", notes["id"], str(single)).exit_code == 0
    assert single.read_text() == "notes"
    info = as_json(sbg("files", "info", notes["id"], "--json"))
    assert info == rest(user, f"/files/{notes['id']}")


def test_file_commands_report_bad_inputs(sbg_as, rest, new_username, tmp_path: Path) -> None:
    user = new_username("bad")
    sbg = sbg_as(user)
    project_id = _project(sbg, rest, user, "Bad inputs")
    missing = sbg("files", "upload", str(tmp_path / "nope.txt"), "--project", project_id)
    assert missing.exit_code == 2 and "no such local file" in missing.stderr
    directory = sbg("files", "upload", str(tmp_path), "--project", project_id)
    assert directory.exit_code == 2 and "--recursive" in directory.stderr
    (tmp_path / "f.txt").write_text("x")
    unknown = sbg("files", "upload", str(tmp_path / "f.txt"), "--project", f"{user}/nowhere")
    assert unknown.exit_code == 1 and "failed:" in unknown.stderr
    assert sbg("files", "ls", "--project", f"{user}/nowhere").exit_code == 3
    assert sbg("files", "info", "0" * 24).exit_code == 3
    both = sbg("files", "ls", "--project", project_id, "--parent", "x")
    assert both.exit_code == 2


def test_mkdir_cp_mv_rm_meta_tag(sbg_as, rest, new_username, tmp_path: Path) -> None:
    user = new_username("edit")
    sbg = sbg_as(user)
    project_id = _project(sbg, rest, user, "Edits")
    other_id = _project(sbg, rest, user, "Other")
    local = tmp_path / "sample.txt"
    local.write_text("sample")
    file_id = as_json(sbg("files", "upload", str(local), "--project", project_id, "--json"))[0][
        "id"
    ]

    folder = as_json(sbg("files", "mkdir", "results/2024", "--project", project_id, "--json"))
    assert folder["name"] == "2024" and folder["type"] == "folder"
    # mkdir finds existing folders instead of failing.
    assert (
        as_json(sbg("files", "mkdir", "results/2024", "--project", project_id, "--json")) == folder
    )

    copied = as_json(sbg("files", "cp", file_id, "--project", other_id, "--json"))
    assert copied[0]["project"] == other_id
    moved = as_json(
        sbg("files", "mv", file_id, "--parent", folder["id"], "--name", "s.txt", "--json")
    )
    assert moved[0]["parent"] == folder["id"] and moved[0]["name"] == "s.txt"

    metadata = as_json(
        sbg("files", "meta", file_id, "sample_id=NA1", "platform=ILLUMINA", "--json")
    )
    assert metadata == rest(user, f"/files/{file_id}")["metadata"]
    assert metadata["sample_id"] == "NA1"
    tags = as_json(sbg("files", "tag", file_id, "wgs", "raw", "--json"))
    assert tags == ["wgs", "raw"] == rest(user, f"/files/{file_id}")["tags"]
    assert as_json(sbg("files", "tag", file_id, "--remove", "raw", "--json")) == ["wgs"]

    removed = sbg("files", "rm", copied[0]["id"])
    assert removed.exit_code == 0
    assert sbg("files", "info", copied[0]["id"]).exit_code == 3
