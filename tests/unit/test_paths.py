from pathlib import Path

import pytest

from mcukit import paths


def test_checkout_layout_finds_top_level_folders():
    for name in ("firmware", "templates", "boards"):
        assert paths.data_dir(name).is_dir()
    assert (paths.firmware_include() / "mcukit" / "mk_kernels.h").is_file()


def test_installed_layout_prefers_package_data(tmp_path, monkeypatch):
    pkg = tmp_path / "mcukit"
    (pkg / "_data" / "firmware").mkdir(parents=True)
    monkeypatch.setattr(paths, "_PACKAGE", pkg)
    paths.data_root.cache_clear()
    try:
        assert paths.data_dir("firmware") == pkg / "_data" / "firmware"
    finally:
        paths.data_root.cache_clear()


def test_unknown_folder_is_a_bug():
    with pytest.raises(ValueError):
        paths.data_dir("secrets")


def test_cache_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MCUKIT_CACHE_DIR", str(tmp_path))
    assert paths.cache_dir() == Path(tmp_path)
