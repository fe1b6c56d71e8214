"""The two writers every stage's outputs go through (`xcrl_cli/io.py`): a folder or a file appears whole or not at
all, with the permissions of any file the user makes."""

from __future__ import annotations

import os
import stat

import pytest

from xcrl_cli.io import atomic_dir, atomic_write


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077], ids=["022", "027", "077"])
def test_an_output_takes_the_user_s_umask_not_the_temporary_s_private_mode(tmp_path, umask):
    old = os.umask(umask)
    try:
        for _ in range(2):  # written, then replaced
            with atomic_dir(tmp_path / "out") as tmp:
                (tmp / "a.txt").write_text("x")
            atomic_write(tmp_path / "m.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o777 & ~umask
    assert stat.S_IMODE((tmp_path / "m.json").stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "out"]


def test_a_failed_writer_leaves_the_old_output_and_no_temporary(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="mid-write"):
        with atomic_dir(tmp_path / "out") as tmp:
            (tmp / "new.txt").write_text("new")
            raise RuntimeError("mid-write")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["old.txt"]
