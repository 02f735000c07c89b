"""path_info on real files and directories: modes, owners, parents' search bits, mounts, the allowlist."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import call, make_settings, missing_backend
from watchkeeper.app import App, open_app
from watchkeeper.skills.invoke import Status

NOBODY = pwd.getpwuid(65534).pw_name if 65534 in {u.pw_uid for u in pwd.getpwall()} else None
ME = pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A 0755 directory every user can reach: pytest's own tmp_path sits under a 0700 directory,
    which would be the blocker of every check made as another user."""
    path = Path(tempfile.mkdtemp(prefix="wk-path-info-"))
    try:
        path.chmod(0o755)
        walls = [str(p) for p in path.parents if not os.stat(p).st_mode & stat.S_IXOTH]
        if walls:
            pytest.skip(f"{walls[0]} is not searchable by other users")
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def prt(tmp_path: Path, open_dir: Path) -> Iterator[App]:
    """A runtime whose read allowlist is the world-searchable directory."""
    runtime = open_app(make_settings(tmp_path, open_dir))
    yield runtime
    runtime.close()


def make(path: Path, mode: int, text: str = "secret: x\n") -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def need_nobody() -> str:
    if NOBODY is None or os.geteuid() == 65534:
        pytest.skip("no user 'nobody' distinct from the test's own user")
    return NOBODY


def test_describes_a_file_like_ls(prt: App, open_dir: Path) -> None:
    conf = make(open_dir / "app.yaml", 0o640, "x" * 123)
    result = call(prt, "path_info", path=str(conf))
    assert result.ok, result.error
    info = result.result
    st = conf.stat()
    assert info["path"] == info["resolved"] == str(conf)
    assert info["exists"] is True and info["type"] == "file" and info["mode"] == "0640"
    assert (info["uid"], info["gid"], info["owner"]) == (st.st_uid, st.st_gid, ME)
    assert info["group"] == grp.getgrgid(st.st_gid).gr_name
    assert info["size"] == 123 and 0 <= info["modified_ago_s"] < 60 and info["modified_at"].startswith("20")
    assert info["mount"] is not None and (info["mount"] == "/" or str(conf).startswith(info["mount"] + "/"))
    assert info["read_only_mount"] is False and info["acl"] is False
    assert "readable" not in info and "as_user" not in info  # only with as_user


def test_a_0600_file_is_not_readable_by_another_user(prt: App, open_dir: Path) -> None:
    nobody = need_nobody()
    secret = make(open_dir / "secret.yaml", 0o600)
    info = call(prt, "path_info", path=str(secret), as_user=nobody).result
    assert info["as_user"] == nobody
    assert info["readable"] is False and info["writable"] is False
    assert info["blocked_by"].startswith(f"{secret}: mode 0600 owner {ME}")
    own = call(prt, "path_info", path=str(secret), as_user=ME).result
    assert own["readable"] is True and own["writable"] is True and own["blocked_by"] is None


def test_a_readable_file_under_a_closed_directory_is_blocked_by_the_directory(prt: App, open_dir: Path) -> None:
    nobody = need_nobody()
    closed = open_dir / "private"
    closed.mkdir(mode=0o700)
    conf = make(closed / "app.yaml", 0o644)
    info = call(prt, "path_info", path=str(conf), as_user=nobody).result
    assert info["readable"] is False and info["writable"] is False
    assert info["blocked_by"].startswith(f"{closed}: mode 0700 owner {ME}")
    closed.chmod(0o711)  # search without listing is enough to reach a known name
    info = call(prt, "path_info", path=str(conf), as_user=nobody).result
    assert info["readable"] is True and info["writable"] is False
    assert info["blocked_by"].startswith(f"{conf}: mode 0644")


def test_directories_and_numeric_uids(prt: App, open_dir: Path) -> None:
    nobody = need_nobody()
    info = call(prt, "path_info", path=str(open_dir), as_user="65534").result
    assert info["type"] == "dir" and info["mode"] == "0755" and info["as_user"] == nobody
    assert info["readable"] is True and info["writable"] is False  # may list, may not create
    stranger = call(prt, "path_info", path=str(open_dir), as_user="4000000").result
    assert stranger["as_user"] == "4000000" and stranger["readable"] is True


def test_supplementary_groups_count(prt: App, open_dir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another group needs root")
    pairs = [
        (name, g.gr_gid)
        for g in grp.getgrall()
        for name in g.gr_mem
        if name in {u.pw_name for u in pwd.getpwall()} and pwd.getpwnam(name).pw_gid != g.gr_gid
    ]
    if not pairs:
        pytest.skip("no user on this host has a supplementary group")
    user, gid = pairs[0]
    shared = make(open_dir / "shared.log", 0o640)
    os.chown(shared, 0, gid)
    info = call(prt, "path_info", path=str(shared), as_user=user).result
    assert info["readable"] is True and info["writable"] is False, info


def test_a_missing_path_is_a_fact_not_an_error(prt: App, open_dir: Path) -> None:
    result = call(prt, "path_info", path=str(open_dir / "conf" / "app.yaml"), as_user=ME)
    assert result.ok, result.error
    info = result.result
    assert info["exists"] is False and info["path"] == str(open_dir / "conf" / "app.yaml")
    assert all(info[k] is None for k in ("type", "mode", "owner", "uid", "size", "mount", "readable", "blocked_by"))


def test_symlinks_are_described_and_followed(prt: App, open_dir: Path) -> None:
    target = make(open_dir / "real.yaml", 0o600)
    (open_dir / "current.yaml").symlink_to(target)
    (open_dir / "dangling.yaml").symlink_to(open_dir / "gone.yaml")
    info = call(prt, "path_info", path=str(open_dir / "current.yaml"), as_user=ME).result
    assert info["type"] == "symlink" and info["resolved"] == str(target) and info["readable"] is True
    dangling = call(prt, "path_info", path=str(open_dir / "dangling.yaml"), as_user=ME).result
    assert dangling["exists"] is True and dangling["type"] == "symlink" and dangling["readable"] is False
    assert "dangling symlink" in dangling["blocked_by"]


def test_metadata_is_read_outside_the_allowlist_and_contents_never(prt: App, open_dir: Path, tmp_path: Path) -> None:
    outside = make(tmp_path / "elsewhere.yaml", 0o600)
    result = call(prt, "path_info", path=str(outside), as_user="nobody")
    assert result.ok and result.result["mode"] == "0600" and result.result["readable"] is False
    assert "secret" not in json.dumps(result.result)  # what the file holds never leaves it
    for path in ["rel/x", "/tmp/a\x00b"]:
        bad = call(prt, "path_info", path=path)
        assert not bad.ok and "absolute" in str(bad.error), path


def test_an_unknown_user_fails_clearly(prt: App, open_dir: Path) -> None:
    result = call(prt, "path_info", path=str(open_dir), as_user="no-such-user-wk")
    assert result.status is Status.FAILED and result.error == "no user named 'no-such-user-wk' on this host"


def test_a_read_only_mount_blocks_writes(prt: App, open_dir: Path) -> None:
    mnt = open_dir / "ro"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if done.returncode != 0:
        missing_backend(f"a read-only tmpfs (mount needs root): {done.stderr.strip()}")
    try:
        info = call(prt, "path_info", path=str(mnt), as_user=ME).result
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
    assert info["mount"] == str(mnt) and info["read_only_mount"] is True
    assert info["readable"] is True and info["writable"] is False
    assert info["blocked_by"] == f"{mnt}: on a read-only mount"
