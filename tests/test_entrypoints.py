"""The entry-point reader (openclaw_core/contract/entrypoints.py) finds what
importlib.metadata finds, on real installed distributions on sys.path."""

from __future__ import annotations

import importlib
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from openclaw_core.contract import entrypoints


def _as_tuples(eps) -> list[tuple[str, str, str, str | None]]:
    return sorted((ep.name, ep.value, ep.dist_name, ep.dist_version) for ep in eps)


def _reference(group: str) -> list[tuple[str, str, str, str | None]]:
    importlib.invalidate_caches()
    return sorted((ep.name, ep.value, ep.dist.metadata["Name"], ep.dist.metadata["Version"])
                  for ep in metadata.entry_points(group=group))


def _dist(site: Path, dir_name: str, meta_file: str, meta: str, entry_points: str) -> None:
    info = site / dir_name
    info.mkdir(parents=True)
    (info / meta_file).write_text(meta)
    (info / "entry_points.txt").write_text(entry_points)


def test_the_installed_plugins_are_read_as_importlib_metadata_reads_them():
    scanned = entrypoints._scan("openclaw")
    assert scanned is not None  # this venv is the plain case
    assert _as_tuples(scanned) == _reference("openclaw")
    assert {"store_file", "maintenance", "offline_lock"} <= {ep.name for ep in scanned}


def test_sections_comments_egg_info_and_shadowed_distributions(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    _dist(first, "oc_ep_alpha-1.0.dist-info", "METADATA",
          "Metadata-Version: 2.1\nname: oc-ep-alpha\nVersion: 1.0\n\nName: not-a-header\n",
          "# a comment\n[console_scripts]\nalpha = oc_ep_alpha:main\n\n[openclaw]\n# another\n"
          "  alpha =  oc_ep_alpha:plugin.inner [extra]  \nbeta=oc_ep_alpha\n[other]\ngamma = x\n")
    _dist(first, "oc_ep_eggy.egg-info", "PKG-INFO", "Metadata-Version: 1.0\nName: oc-ep-eggy\nVersion: 0.3\n",
          "[openclaw]\neggy = oc_ep_eggy\n")
    # The same distribution again later on the path: importlib.metadata takes the first.
    _dist(second, "OC_EP.Alpha-2.0.dist-info", "METADATA", "Name: oc-ep-alpha\nVersion: 2.0\n",
          "[openclaw]\nshadowed = oc_ep_alpha\n")
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    scanned = entrypoints._scan("openclaw")
    assert scanned is not None
    assert _as_tuples(scanned) == _reference("openclaw")
    mine = {ep.name: ep for ep in scanned if ep.dist_name.startswith("oc-ep")}
    assert set(mine) == {"alpha", "beta", "eggy"}
    assert (mine["alpha"].value, mine["alpha"].dist_version) == ("oc_ep_alpha:plugin.inner [extra]", "1.0")


def test_load_imports_the_module_and_follows_the_attributes(tmp_path, monkeypatch):
    (tmp_path / "oc_ep_mod.py").write_text("class plugin:\n    class inner:\n        pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = entrypoints.EntryPoint("x", "oc_ep_mod:plugin.inner [extra]", "d", None)
    assert ep.load() is sys.modules["oc_ep_mod"].plugin.inner
    assert entrypoints.EntryPoint("y", "oc_ep_mod", "d", None).load() is sys.modules["oc_ep_mod"]


def test_a_zip_on_the_path_is_left_to_importlib_metadata(tmp_path, monkeypatch):
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("oc_ep_zipped-0.1.dist-info/METADATA", "Name: oc-ep-zipped\nVersion: 0.1\n")
        z.writestr("oc_ep_zipped-0.1.dist-info/entry_points.txt", "[openclaw]\nzipped = oc_ep_zipped\n")
    monkeypatch.syspath_prepend(str(archive))
    assert entrypoints._scan("openclaw") is None
    found = entrypoints.entry_points("openclaw")
    assert _as_tuples(found) == _reference("openclaw")
    assert ("zipped", "oc_ep_zipped", "oc-ep-zipped", "0.1") in _as_tuples(found)
