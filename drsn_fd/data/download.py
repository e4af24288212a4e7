"""`drsn-data download`: fetch the CWRU files that the data config selects into `data.root`.

    drsn-data download data=cwru data.root=DIR                       # the ten classes at 0 hp, 12 kHz faults
    drsn-data download data=cwru data.root=DIR data.source_fs=48000  # the 48 kHz drive-end faults
    drsn-data download data=cwru data.root=DIR data.loads=null       # every load
    drsn-data download data=cwru data.root=DIR data.url=URL          # from a mirror

Which files: exactly those the loader would take from a complete CWRU folder under the same
data selection (`drsn_fd.data.sources.catalog_selection`). From where: `<data.url>/<number>.mat`
(by default the CWRU Bearing Data Center); a `{number}` in `data.url` is replaced instead.

Each file is fetched with the standard library (a timeout, a retry or two) into a hidden
`.<number>.mat.part` beside its final place and renamed to `<number>.mat` only once it checks out:
its sha256 must match the catalog's (`KNOWN_SHA256`) where one is known, and it must load with
scipy and hold `data.channel`. A file that fails a check is deleted and named (number and URL);
a transfer cut short keeps its `.part` so that the next run resumes it (HTTP Range). Files
already in `data.root` (found by the number in their name, as the loader finds them) that pass
the same checks are left alone; a present file that fails its checksum or does not load is
fetched again and replaced, or, if that fails too, renamed `<name>.invalid` so that the loader
no longer reads it. One line per file (downloaded / already present / failed), then a summary;
any failure ends in a `DataError`, which `drsn-data` turns into one line and exit code 2.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from drsn_fd import __version__
from drsn_fd.data.catalog import KNOWN_SHA256, CatalogEntry
from drsn_fd.data.matfile import CHANNELS, file_number, read_channel
from drsn_fd.data.sources import catalog_selection
from drsn_fd.errors import ConfigError, DataError

DEFAULT_URL = "https://engineering.case.edu/sites/default/files"
TIMEOUT_S = 60.0  # per connection attempt and per read
RETRIES = 2  # further attempts after a network error
_CHUNK = 1 << 16
# network trouble worth another attempt (URLError and the others are OSErrors: list them first)
_NETWORK = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


class _Fatal(Exception):
    """A failure another attempt would not fix (HTTP 404, a local disk error)."""


@dataclass
class Outcome:
    """What happened to one file."""

    number: int
    label: str
    url: str
    status: str  # downloaded | present | failed
    path: Path | None = None
    detail: str = ""


def file_url(base: str, number: int | str) -> str:
    """The URL of CWRU file `number`: `{number}` in `base` replaced, else `<base>/<number>.mat`."""
    return base.format(number=number) if "{number}" in base else f"{base.rstrip('/')}/{number}.mat"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def check_file(path: Path, number: int, channel: str) -> tuple[str | None, bool]:
    """(why `path` is not a usable copy of CWRU file `number`, or None; whether it is corrupt).

    Corrupt: its sha256 differs from the known one, or scipy cannot load it. A file that loads
    but lacks `channel` is unusable without being corrupt.
    """
    known = KNOWN_SHA256.get(number)
    if known:
        try:
            digest = sha256_of(path)
        except OSError as e:
            return f"cannot be read ({e.strerror or e})", False
        if digest != known:
            return f"sha256 {digest[:16]}... does not match the known {known[:16]}...", True
    try:
        read_channel(path, channel, number)
    except DataError as e:
        msg = str(e).removeprefix(f"{path}: ")
        return msg, msg.startswith(("corrupt or truncated", "file not found"))
    return None, False


def _present(root: Path) -> dict[int, Path]:
    """CWRU file number -> the file the loader would read for it (first in sorted order)."""
    out: dict[int, Path] = {}
    for p in sorted(root.rglob("*.mat")):
        n = file_number(p)
        if n is not None and p.is_file():
            out.setdefault(n, p)
    return out


def _fetch(url: str, part: Path, timeout: float) -> tuple[int, bool]:
    """Download `url` into `part`, resuming what `part` holds where the server allows (HTTP Range).

    Returns (bytes in `part`, whether earlier bytes were kept). Raises a `_NETWORK` error for
    trouble another attempt may fix, `_Fatal` otherwise.
    """
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"drsn_fd/{__version__} (python urllib)"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing after what we have: the part is complete
            return have, True
        if e.code in (408, 429) or e.code >= 500:
            raise
        raise _Fatal(f"HTTP {e.code} {e.reason}") from None
    with resp:
        resumed = bool(have) and resp.status == 206
        length = resp.headers.get("Content-Length")
        expected = (have if resumed else 0) + int(length) if length and length.isdigit() else None
        bar = _progress(expected, have if resumed else 0, part.name)
        try:
            with open(part, "ab" if resumed else "wb") as f:
                while chunk := resp.read(_CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
                f.flush()
                os.fsync(f.fileno())
        except _NETWORK:
            raise
        except OSError as e:
            raise _Fatal(f"cannot write {part}: {e.strerror or e}") from None
        finally:
            bar.close()
    size = part.stat().st_size
    if expected is not None and size != expected:
        raise ConnectionError(f"connection closed after {size} of {expected} bytes")
    return size, resumed


def _progress(total: int | None, initial: int, name: str):
    """A byte progress bar on a terminal, a no-op otherwise."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, leave=False, desc=name,
                disable=not sys.stderr.isatty())


def fetch_file(number: int, url: str, dest: Path, channel: str, timeout: float = TIMEOUT_S,
               retries: int = RETRIES) -> str | None:
    """Fetch CWRU file `number` from `url` to `dest` (atomically, checked); None, or why it failed."""
    part = dest.with_name(f".{number}.mat.part")
    attempt = 0
    while True:
        try:
            size, resumed = _fetch(url, part, timeout)
        except _Fatal as e:
            part.unlink(missing_ok=True)
            return f"{url}: {e}"
        except _NETWORK as e:
            unknown_host = isinstance(getattr(e, "reason", None), socket.gaierror)  # retrying will not help
            if attempt < retries and not unknown_host:
                attempt += 1
                time.sleep(attempt)
                continue
            why = f"HTTP {e.code} {e.reason}" if isinstance(e, urllib.error.HTTPError) \
                else f"{type(e).__name__}: {getattr(e, 'reason', None) or e}"
            kept = f"; {part.stat().st_size} bytes kept in {part.name}, run again to resume" \
                if part.exists() and part.stat().st_size else ""
            if not kept:
                part.unlink(missing_ok=True)
            return f"{url}: {why} (after {attempt + 1} attempt{'s' if attempt else ''}){kept}"
        except OSError as e:  # on this machine's side: the disk, the folder
            part.unlink(missing_ok=True)
            return f"{url}: {e.filename or part}: {e.strerror or e}"
        problem, _ = check_file(part, number, channel)
        if problem is None:
            try:
                os.replace(part, dest)
            except OSError as e:
                part.unlink(missing_ok=True)
                return f"{url}: downloaded but cannot be moved to {dest} ({e.strerror or e})"
            return None
        part.unlink(missing_ok=True)
        if resumed and attempt < retries:  # a resumed transfer may have spliced two versions: start over
            attempt += 1
            continue
        return f"{url}: {problem} ({size} bytes); not kept"


def _settings(data: Mapping) -> tuple[Path, str, str]:
    if data.get("source") != "cwru":
        raise ConfigError(f"data={data.get('source')} is not downloaded: drsn-data download fetches the public "
                          "CWRU files by number; use drsn-data download data=cwru data.root=DIR")
    if not data.get("root"):
        raise ConfigError("data.root is not set: say where the CWRU files go (data.root=DIR)")
    root = Path(str(data["root"])).expanduser()
    if root.exists() and not root.is_dir():
        raise DataError(f"data.root={root}: not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"data.root={root}: cannot create the folder ({e.strerror or e})") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise DataError(f"data.root={root}: folder is not writable")
    channel = str(data.get("channel", "DE"))
    if channel not in CHANNELS:
        raise ConfigError(f"data.channel={channel!r} is unknown; allowed: {', '.join(CHANNELS)}")
    return root, str(data.get("url") or DEFAULT_URL), channel


@contextlib.contextmanager
def _lock(root: Path):
    """Hold `root` for this process: two downloads into one folder would write the same files."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    fd = os.open(root, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DataError(f"data.root={root}: another drsn-data download is writing into this folder; "
                            "wait for it to finish") from None
        yield
    finally:
        os.close(fd)


def _one(entry: CatalogEntry, label: str, root: Path, present: dict[int, Path], base: str,
         channel: str) -> Outcome:
    n = entry.number
    url = file_url(base, n)
    have = present.get(n)
    dest = root / f"{n}.mat"
    if have is not None:
        problem, corrupt = check_file(have, n, channel)
        if problem is None:
            return Outcome(n, label, url, "present", have)
        if not corrupt:  # the file is fine, it just cannot serve this selection
            return Outcome(n, label, url, "failed", have, f"{have} is present but: {problem}")
        dest = have  # fetch again and replace it
    why = fetch_file(n, url, dest, channel)
    if why is None:
        note = f"replaced an invalid copy ({problem})" if have is not None else ""
        return Outcome(n, label, url, "downloaded", dest, note)
    if have is not None:
        aside = have.with_name(have.name + ".invalid")
        try:
            os.replace(have, aside)
            why += f"; the present copy failed too ({problem}) and was renamed {aside.name}"
        except OSError as e:
            why += f"; the present copy {have} failed too ({problem}) and cannot be renamed ({e.strerror or e})"
    return Outcome(n, label, url, "failed", None, why)


def _line(o: Outcome, entry: CatalogEntry) -> str:
    name = o.label if o.label == entry.code else f"{o.label} ({entry.code})"
    head = f"{o.number:>5}  {name:<20}"
    if o.status == "present":
        return f"{head} already present   {o.path}"
    if o.status == "downloaded":
        size = o.path.stat().st_size / 1e6
        sha = "sha256 verified" if o.number in KNOWN_SHA256 else "no known sha256, loads"
        return f"{head} downloaded        {o.path} ({size:.1f} MB, {sha})" + (f"; {o.detail}" if o.detail else "")
    return f"{head} failed            {o.detail}"


def download(data: Mapping | DictConfig, say: Callable[[str], None] | None = None) -> list[Outcome]:
    """Fetch the CWRU files of the data config's selection into `data.root`; `say` (default: log) one line each.

    Raises ConfigError / DataError (one line) on a bad config, or when any file failed.
    """
    if isinstance(data, DictConfig):
        data = OmegaConf.to_container(data, resolve=True)
    root, base, channel = _settings(data)
    chosen = catalog_selection(data)
    with _lock(root):
        return _download(chosen, root, base, channel, data, say or logging.getLogger(__name__).info)


def _download(chosen: list[tuple[CatalogEntry, str]], root: Path, base: str, channel: str,
              data: Mapping, say: Callable[[str], None]) -> list[Outcome]:
    present = _present(root)
    say(f"{len(chosen)} CWRU file(s) for data.classes={data.get('classes')}, loads={data.get('loads')}, "
          f"fault_end={data.get('fault_end')}, source_fs={data.get('source_fs') or 12000}, channel {channel}; "
          f"from {file_url(base, '<number>')} "
          f"into {root}")
    outcomes: list[Outcome] = []
    for entry, label in chosen:
        try:
            o = _one(entry, label, root, present, base, channel)
        except KeyboardInterrupt:
            raise DataError(f"interrupted while fetching file {entry.number}; run the same command "
                            "again to resume") from None
        outcomes.append(o)
        say(_line(o, entry))
    failed = [o for o in outcomes if o.status == "failed"]
    counts = {s: sum(o.status == s for o in outcomes) for s in ("downloaded", "present", "failed")}
    say(f"{counts['downloaded']} downloaded, {counts['present']} already present, "
          f"{counts['failed']} failed, in {root}")
    if failed:
        raise DataError(f"{len(failed)} of {len(outcomes)} file(s) failed: "
                        f"{', '.join(str(o.number) for o in failed)} from {file_url(base, '<number>')} "
                        "(the reason of each is above)")
    return outcomes
