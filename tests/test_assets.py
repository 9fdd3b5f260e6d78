import functools
import hashlib
import http.server
import threading
import zipfile
from pathlib import Path

import pytest

from builder.assets import REGISTRY, Asset, AssetStore
from builder.errors import AssetCorrupt, AssetMissing

from .conftest import MIRROR, requires_mirror

PAYLOAD = b"song_id,valence_mean\n1,5.0\n" * 50


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server over a folder; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def asset(url, **kw):
    base = dict(
        name="thing",
        url=url,
        licence="test",
        purpose="a test file",
        mirror_path="x/thing.csv",
        sha256=hashlib.sha256(PAYLOAD).hexdigest(),
    )
    base.update(kw)
    return Asset(**base)


def store_with(tmp_path, a, mirror=None, **kw):
    return AssetStore(tmp_path / "cache", mirror, registry={a.name: a}, **kw)


class Bar:
    def __init__(self, total, label):
        self.seen = 0
        Bar.last = self

    def update(self, n):
        self.seen += n

    def close(self):
        pass


def test_download_verifies_and_lands_in_cache_with_progress(tmp_path, server):
    root, base = server
    (root / "thing.csv").write_bytes(PAYLOAD)
    s = store_with(tmp_path, asset(f"{base}/thing.csv"), progress=Bar)
    path = s.resolve("thing")
    assert path == s.cache_path(s.entry("thing")) and path.read_bytes() == PAYLOAD
    assert Bar.last.seen == len(PAYLOAD)
    assert s.locate("thing")[1] == "cache"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".download-")]


def test_download_extracts_a_member_of_a_zip(tmp_path, server):
    root, base = server
    with zipfile.ZipFile(root / "bundle.zip", "w") as zf:
        zf.writestr("deep/folder/thing.csv", PAYLOAD)
        zf.writestr("other.txt", b"nope")
    s = store_with(tmp_path, asset(f"{base}/bundle.zip", member="thing.csv"))
    assert s.resolve("thing").read_bytes() == PAYLOAD


def test_download_with_wrong_hash_writes_nothing(tmp_path, server):
    root, base = server
    (root / "thing.csv").write_bytes(PAYLOAD + b"tampered")
    s = store_with(tmp_path, asset(f"{base}/thing.csv"))
    with pytest.raises(AssetCorrupt):
        s.resolve("thing")
    assert not s.cache_path(s.entry("thing")).exists()


def test_folder_asset_is_extracted_from_its_archive(tmp_path, server):
    root, base = server
    with zipfile.ZipFile(root / "audio.zip", "w") as zf:
        zf.writestr("DEAM/MEMD_audio/2.mp3", b"ID3 fake")
        zf.writestr("DEAM/MEMD_audio/3.mp3", b"ID3 fake too")
        zf.writestr("DEAM/MEMD_audio/../../escape.mp3", b"bad")
    a = asset(
        f"{base}/audio.zip",
        name="audio",
        mirror_path="deam/MEMD_audio",
        member="MEMD_audio",
        folder=True,
        sha256=None,
        auto_download=False,
    )
    s = store_with(tmp_path, a)
    with pytest.raises(AssetMissing, match="builder assets fetch audio"):
        s.resolve("audio")  # large folders are never fetched implicitly
    folder = s.fetch("audio")
    assert sorted(p.name for p in folder.iterdir()) == ["2.mp3", "3.mp3"]
    assert not (tmp_path / "cache" / "escape.mp3").exists()


def test_offline_and_missing_is_one_clear_sentence(tmp_path):
    s = store_with(tmp_path, asset("http://127.0.0.1:9/thing.csv"), offline=True)
    with pytest.raises(AssetMissing) as err:
        s.resolve("thing")
    msg = str(err.value)
    assert "thing" in msg and "x/thing.csv" in msg and "--mirror" in msg


def test_unreachable_upstream_says_what_to_do(tmp_path):
    s = store_with(tmp_path, asset("http://127.0.0.1:9/thing.csv"), timeout_s=2)
    with pytest.raises(AssetMissing, match="downloading http://127.0.0.1:9/thing.csv failed"):
        s.resolve("thing")


def mirrored(tmp_path, content: bytes):
    """An offline store whose mirror holds x/thing.csv with the given bytes; returns (store, asset,
    mirror)."""
    mirror = tmp_path / "mirror"
    (mirror / "x").mkdir(parents=True)
    (mirror / "x" / "thing.csv").write_bytes(content)
    a = asset("http://127.0.0.1:9/thing.csv")
    return store_with(tmp_path, a, mirror=mirror, offline=True), a, mirror


def test_order_is_override_then_cache_then_mirror(tmp_path):
    s, a, mirror = mirrored(tmp_path, PAYLOAD)
    assert s.locate("thing") == (mirror / "x" / "thing.csv", "mirror")
    cached = s.cache_path(a)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(PAYLOAD)
    assert s.locate("thing") == (cached, "cache")
    mine = tmp_path / "mine.csv"
    mine.write_bytes(b"my own version")
    s.overrides["thing"] = mine
    assert s.locate("thing") == (mine, "override")


def test_corrupt_cache_entry_is_dropped_and_mirror_used(tmp_path):
    s, a, _ = mirrored(tmp_path, PAYLOAD)
    s.cache_path(a).parent.mkdir(parents=True)
    s.cache_path(a).write_bytes(b"half a file")
    assert s.locate("thing")[1] == "mirror"
    assert not s.cache_path(a).exists()


def test_a_file_inside_an_installed_package_is_found_first_and_checked(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "fakeweights_pkg"
    (pkg / "models").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "models" / "w.bin").write_bytes(PAYLOAD)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    s, a, mirror = mirrored(tmp_path, PAYLOAD)
    s.registry["thing"] = Asset(**{**a.__dict__, "package": "fakeweights_pkg/models/w.bin"})
    assert s.locate("thing") == (pkg / "models" / "w.bin", "package")
    (pkg / "models" / "w.bin").write_bytes(b"tampered")
    with pytest.raises(AssetCorrupt, match="reinstall"):
        s.resolve("thing")
    (pkg / "models" / "w.bin").unlink()  # the package without the file: the mirror, as before
    assert s.locate("thing") == (mirror / "x" / "thing.csv", "mirror")
    s.registry["thing"] = Asset(**{**a.__dict__, "package": "no_such_package_here/w.bin"})
    assert s.locate("thing")[1] == "mirror"


def test_corrupt_mirror_file_is_an_error(tmp_path):
    s, _, _ = mirrored(tmp_path, b"wrong")
    with pytest.raises(AssetCorrupt, match="sha256"):
        s.resolve("thing")


@requires_mirror
def test_every_single_file_asset_in_the_mirror_matches_its_registry_hash(tmp_path):
    s = AssetStore(tmp_path / "cache", MIRROR, offline=True)
    found = 0
    for name, a in REGISTRY.items():
        if a.folder or a.name.startswith(("torchvision", "blip")):
            continue
        path, where = s.locate(name)
        assert where == ("package" if a.package else "mirror"), name
        found += 1
    assert found >= 8


def test_every_entry_is_complete():
    for a in REGISTRY.values():
        assert (
            (a.url.startswith("https://") or a.made_by)
            and a.licence
            and a.purpose
            and a.mirror_path
        )
        assert not a.made_by or (a.package and a.sha256), a.name  # made here: shipped, and checked
        assert a.folder or a.sha256 or a.hash_prefix or a.unverified, a.name
        assert Path(a.mirror_path).name == a.filename
