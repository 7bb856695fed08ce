"""Data on first use: a Debian data package that is not installed is fetched into the lanco cache with
`apt-get download` + `dpkg-deb -x` (here a fake `apt-get` that hands out a real .deb built with `dpkg-deb -b`), the
system path wins over the cache and the cache over a fetch, and without apt the error names the command to run."""

import gzip
import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest

from lanco_hf.data import bible, emoji, fashion_mnist, tuxpaint
from lanco_hf.data.cache import DataNotFoundError
from lanco_hf.data.fetch import CLDR, FASHION_MNIST, SWORD_BIBLES, TUXPAINT_STAMPS, DebianData, NpmTarball

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb to build the test .deb")

ALL_DATA = [SWORD_BIBLES, FASHION_MNIST, CLDR, TUXPAINT_STAMPS]
FINDERS = {  # the loader's lookup of each package's data folder
    SWORD_BIBLES.name: bible.find_sword_root,
    FASHION_MNIST.name: fashion_mnist.find_fashion_mnist,
    CLDR.name: emoji.find_cldr_root,
    TUXPAINT_STAMPS.name: tuxpaint.find_stamps_root,
}
ENVIRONMENT = ("LANCO_HF_SWORD_PATH", "LANCO_HF_FASHION_MNIST_PATH", "LANCO_HF_CLDR_PATH", "LANCO_HF_TUXPAINT_PATH")


def build_deb(package: str, files: dict[str, bytes], folder: Path) -> Path:
    """A real Debian package ``package`` holding ``files`` (paths from the root), built with ``dpkg-deb -b``."""
    tree = folder / f"{package}-tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 1.0-1\nArchitecture: all\nMaintainer: lanco <lanco@example.org>\n"
        "Description: test data\n"
    )
    for relative, content in files.items():
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_bytes(content)
    deb = folder / f"{package}_1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(deb)], check=True, capture_output=True)
    return deb


def fake_apt_get(folder: Path, debs: list[Path], fail: str | None = None) -> Path:
    """A folder holding an ``apt-get`` that logs its arguments and, for ``download PKG``, copies PKG's .deb into the
    working folder (or, with ``fail``, prints it and exits 100 as apt does without network)."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    log = folder / "apt-get.log"
    cases = "\n".join(f'    {deb.name.split("_")[0]}) cp "{deb}" . ;;' for deb in debs)
    body = f'echo "E: {fail}" >&2; exit 100' if fail else f'case "$pkg" in\n{cases}\n    *) exit 100 ;;\nesac'
    script = bin_dir / "apt-get"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> "{log}"\n[ "$1" = download ] || exit 2\n'
        f'for pkg in "$@"; do :; done  # the last argument\n{body}\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def placeholder_files(data: DebianData) -> dict[str, bytes]:
    return {f"{data.data_dir}/{file}": f"{data.name} {file}\n".encode() for file in data.required}


@pytest.fixture
def fresh_machine(tmp_path, monkeypatch):
    """No data package installed (an empty system root), an empty lanco cache and no path variables."""
    system = tmp_path / "system"
    system.mkdir()
    monkeypatch.setenv("LANCO_HF_SYSTEM_DATA_ROOT", str(system))
    monkeypatch.setenv("LANCO_HF_CACHE", str(tmp_path / "cache"))
    for variable in ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


def apt_calls(machine: Path) -> list[str]:
    log = machine / "apt-get.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("data", ALL_DATA, ids=lambda data: data.name)
def test_a_missing_package_is_fetched_unpacked_and_verified(data, fresh_machine, monkeypatch, capsys):
    debs = [build_deb(package, placeholder_files(data), fresh_machine) for package in data.packages]
    monkeypatch.setenv("PATH", f"{fake_apt_get(fresh_machine, debs)}{os.pathsep}{os.environ['PATH']}")
    folder = FINDERS[data.name]()
    assert folder == Path(os.environ["LANCO_HF_CACHE"]) / "debian" / data.name / data.data_dir
    for file in data.required:
        assert (folder / file).read_text() == f"{data.name} {file}\n"  # unpacked from the .deb
    assert apt_calls(fresh_machine) == [f"download -q {package}" for package in data.packages]
    assert f"Fetching {data.description}" in capsys.readouterr().err  # the progress line
    # the second use reads the cache: no further download
    assert FINDERS[data.name]() == folder and len(apt_calls(fresh_machine)) == len(data.packages)


def test_the_system_path_wins_and_nothing_is_fetched(fresh_machine, monkeypatch):
    installed = fresh_machine / "system" / FASHION_MNIST.data_dir
    installed.mkdir(parents=True)
    for file in FASHION_MNIST.required:
        (installed / file).write_bytes(b"")
    debs = [build_deb("dataset-fashion-mnist", placeholder_files(FASHION_MNIST), fresh_machine)]
    monkeypatch.setenv("PATH", f"{fake_apt_get(fresh_machine, debs)}{os.pathsep}{os.environ['PATH']}")
    assert fashion_mnist.find_fashion_mnist() == installed and apt_calls(fresh_machine) == []


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_the_loader_reads_the_fetched_images(fresh_machine, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {
        "train": (rng.integers(0, 256, (5, 28, 28)), rng.integers(0, 10, 5)),
        "t10k": (rng.integers(0, 256, (3, 28, 28)), rng.integers(0, 10, 3)),
    }
    files = {}
    for stem, (images, labels) in arrays.items():
        files[f"{FASHION_MNIST.data_dir}/{stem}-images-idx3-ubyte.gz"] = idx_bytes(images)
        files[f"{FASHION_MNIST.data_dir}/{stem}-labels-idx1-ubyte.gz"] = idx_bytes(labels)
    debs = [build_deb("dataset-fashion-mnist", files, fresh_machine)]
    monkeypatch.setenv("PATH", f"{fake_apt_get(fresh_machine, debs)}{os.pathsep}{os.environ['PATH']}")
    images, labels = fashion_mnist.load_fashion_mnist("test")
    np.testing.assert_array_equal(images, arrays["t10k"][0])
    np.testing.assert_array_equal(labels, arrays["t10k"][1])


@pytest.mark.parametrize("data", ALL_DATA, ids=lambda data: data.name)
def test_without_apt_the_error_names_the_command(data, fresh_machine, monkeypatch):
    empty = fresh_machine / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # neither apt-get nor dpkg-deb
    with pytest.raises(DataNotFoundError) as caught:
        FINDERS[data.name]()
    message = str(caught.value)
    assert f"apt-get install {' '.join(data.packages)}" in message
    assert f"apt-get download {' '.join(data.packages)}" in message and "dpkg-deb -x" in message
    assert "apt-get and dpkg-deb not on PATH" in message
    assert str(fresh_machine / "system" / data.data_dir) in message  # where it looked
    assert not (fresh_machine / "cache" / "debian" / data.name).exists()


def test_without_network_the_error_names_the_command_and_apts_reason(fresh_machine, monkeypatch):
    bin_dir = fake_apt_get(fresh_machine, [], fail="Failed to fetch http://deb.debian.org  Could not resolve host")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(DataNotFoundError, match="Could not resolve host") as caught:
        bible.find_sword_root()
    assert "apt-get download sword-text-kjv sword-text-sparv" in str(caught.value)
    assert not (fresh_machine / "cache" / "debian" / "sword").exists()


def test_fetching_can_be_turned_off(fresh_machine, monkeypatch):
    debs = [build_deb("unicode-cldr-core", placeholder_files(CLDR), fresh_machine)]
    monkeypatch.setenv("PATH", f"{fake_apt_get(fresh_machine, debs)}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(DataNotFoundError, match="apt-get install unicode-cldr-core"):
        emoji.find_cldr_root(fetch=False)
    assert apt_calls(fresh_machine) == []


def npm_tarball(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("package/emoji.json")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def fake_npm(folder: Path, tarball: bytes, name: str) -> Path:
    """An ``npm`` whose ``pack PKG --pack-destination DIR`` writes ``tarball`` as ``DIR/name``."""
    bin_dir = folder / "npm-bin"
    bin_dir.mkdir()
    (folder / name).write_bytes(tarball)
    script = bin_dir / "npm"
    script.write_text(f'#!/bin/sh\n[ "$1" = pack ] || exit 2\ncp "{folder / name}" "$4/{name}"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def test_the_npm_tarball_is_fetched_and_checked_against_its_pin(fresh_machine, monkeypatch):
    content = npm_tarball(b"[]")
    pinned = NpmTarball("emoji-datasource-google", "16.0.0", hashlib.sha256(content).hexdigest())
    bin_dir = fake_npm(fresh_machine, content, pinned.file_name)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    tarball = pinned.fetch(fresh_machine / "emoji", hint="run npm pack")
    assert tarball == fresh_machine / "emoji" / pinned.file_name and tarball.read_bytes() == content
    # the real pin refuses a tarball that is not the published 16.0.0
    monkeypatch.delenv("LANCO_HF_EMOJI_PATH", raising=False)
    with pytest.raises(DataNotFoundError, match="not the pinned"):
        emoji.find_emoji_tarball()
    assert not (Path(os.environ["LANCO_HF_CACHE"]) / "emoji" / pinned.file_name).exists()


def test_without_npm_the_emoji_error_names_the_npm_command(fresh_machine, monkeypatch):
    monkeypatch.delenv("LANCO_HF_EMOJI_PATH", raising=False)
    empty = fresh_machine / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(DataNotFoundError, match=r"npm pack emoji-datasource-google@16\.0\.0 --pack-destination"):
        emoji.find_emoji_tarball()


SHARED_CORA = Path(__file__).resolve().parents[3] / "shared" / "data" / "planetoid" / "Cora" / "raw"


@pytest.fixture
def no_planetoid_files(tmp_path, monkeypatch):
    from lanco_hf.data import planetoid

    monkeypatch.setattr(planetoid, "SHARED_DATA", ())
    monkeypatch.delenv("LANCO_HF_PLANETOID_PATH", raising=False)
    monkeypatch.setenv("LANCO_HF_CACHE", str(tmp_path / "cache"))
    return planetoid


def test_planetoid_uses_torch_geometrics_download_when_the_files_are_missing(no_planetoid_files, monkeypatch):
    import torch_geometric.data

    if not SHARED_CORA.is_dir():
        pytest.skip("no Planetoid Cora raw files to serve")
    urls = []

    def download_url(url, folder, log=True, filename=None):  # serves the real files, as from GitHub
        urls.append(url)
        return shutil.copy(SHARED_CORA / url.rsplit("/", 1)[1], folder)

    monkeypatch.setattr(torch_geometric.data, "download_url", download_url)
    graph = no_planetoid_files.planetoid_graph("Cora")
    assert (graph.num_nodes, graph.num_edges, int(graph.y.max()) + 1) == (2708, 10556, 7)
    from torch_geometric.datasets import Planetoid

    assert sorted(urls) == sorted(f"{Planetoid.url}/{file}" for file in no_planetoid_files.raw_file_names("Cora"))
    no_planetoid_files.planetoid_graph("Cora")  # the second use reads the cache
    assert len(urls) == 8


def test_planetoid_without_network_names_where_to_put_the_files(no_planetoid_files, monkeypatch):
    import urllib.error

    import torch_geometric.data

    def unreachable(url, folder, log=True, filename=None):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(torch_geometric.data, "download_url", unreachable)
    with pytest.raises(DataNotFoundError, match="name resolution") as caught:
        no_planetoid_files.planetoid_graph("Cora")
    assert "LANCO_HF_PLANETOID_PATH" in str(caught.value)
    assert not list((Path(os.environ["LANCO_HF_CACHE"]) / "planetoid" / "raw" / "Cora").glob("raw/*"))


def test_a_quiet_run_hides_the_progress_line_and_restores_it(fresh_machine, monkeypatch, capsys):
    from transformers.utils import logging as hf_logging

    from lanco_hf.data.progress import progress_bars

    debs = [build_deb("unicode-cldr-core", placeholder_files(CLDR), fresh_machine)]
    monkeypatch.setenv("PATH", f"{fake_apt_get(fresh_machine, debs)}{os.pathsep}{os.environ['PATH']}")
    assert hf_logging.is_progress_bar_enabled()
    with progress_bars(enabled=False):  # what `lanco-hf train ... disable_tqdm=true` does around the run
        assert emoji.find_cldr_root() == CLDR.cache_path()
    assert "Fetching" not in capsys.readouterr().err and hf_logging.is_progress_bar_enabled()
