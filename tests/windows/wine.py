"""`tether.exe` under Wine, driven exactly as the Linux tests drive `tether`.

A Wine prefix of the run's own (a temporary directory, so no test sees a
user's Wine or another run's), made non-interactive: no debug output
(WINEDEBUG=-all), no Mono or Gecko install dialogs (WINEDLLOVERRIDES
"mscoree,mshtml="), no display. Into its system32 goes the shim
`bcryptprimitives.dll` (tests/windows/shim: Wine 8 lacks `ProcessPrng`, which
Rust's standard library imports).

`tether` in the prefix is a small script that runs `wine64 tether.exe "$@"`,
so `RawBridge` and the official SDK client (tests/e2e) launch it over stdio
unchanged; it turns a Unix TETHER_HOME into the Windows path Wine maps it to
(drive Z: is /), as a Windows host would pass one. `creds.exe`
(tests/windows/tools) reads the Credential Manager with a program of its own;
`lockfile.exe` holds a file lock (LockFileEx) the way another tether.exe would.

The artifacts come from tests/windows/run: TETHER_WIN_EXE (the stripped
`tether.exe`) and TETHER_WIN_SUPPORT (the shim, `creds.exe` and `lockfile.exe`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bridge import ROOT

LANE = ROOT / "target" / "windows-lane"


def wine_bin() -> str:
    """Wine's 64-bit loader: $TETHER_WINE (tests/windows/run sets it), `wine64` on
    PATH, else where Debian's wine64 package puts it."""
    return os.environ.get("TETHER_WINE") or shutil.which("wine64") or "/usr/lib/wine/wine64"


def wineserver_bin() -> str:
    """The wineserver beside that loader."""
    beside = Path(wine_bin()).resolve().with_name("wineserver")
    return str(beside) if beside.exists() else shutil.which("wineserver") or "/usr/lib/wine/wineserver"


def winpath(path: Path | str) -> str:
    """The Windows path of a Unix path: Wine maps drive Z: to /."""
    return "Z:" + str(path).replace("/", "\\")


@dataclass
class Credential:
    """One generic credential of the Credential Manager, as creds.exe lists it."""

    target: str
    user: str
    blob_bytes: int
    value: str


class Wine:
    """A throwaway Wine prefix with tether.exe ready to run."""

    def __init__(self, prefix: Path, exe: Path, support: Path) -> None:
        self.prefix = prefix
        self.exe = exe
        self.support = support
        self.env = {
            "WINEPREFIX": str(prefix),
            "WINEDEBUG": "-all",
            # No Mono or Gecko download dialogs, no desktop menu entries.
            "WINEDLLOVERRIDES": "mscoree,mshtml=;winemenubuilder.exe=d",
            "WINEARCH": "win64",
        }
        self.bin = prefix / "bin" / "tether"

    # --- set-up -------------------------------------------------------------------

    def boot(self) -> None:
        """Creates the prefix, installs the shim, keeps one wineserver for the run."""
        env = self._env()
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        subprocess.run([wine_bin(), "wineboot", "--init"], env=env, check=True, timeout=300, capture_output=True)
        # wineboot returns before its last registry writes: waiting for the
        # server to go idle makes the prefix complete.
        subprocess.run([wineserver_bin(), "-w"], env=env, check=True, timeout=300)
        shutil.copy(self.support / "bcryptprimitives.dll", self.prefix / "drive_c" / "windows" / "system32" / "bcryptprimitives.dll")
        # A persistent server: each tether.exe then starts in a fraction of a second.
        subprocess.run([wineserver_bin(), "-p"], env=env, check=True, timeout=60)
        # The first program started under a server brings up Wine's own
        # background processes (services.exe, winedevice, explorer), which
        # inherit its stdout and stderr and live as long as the server: a
        # test reading a tether.exe's output to the end would wait for them.
        # So the first program is this one, with nothing to inherit.
        subprocess.run([wine_bin(), "cmd.exe", "/c", "exit"], env=env, check=True, timeout=120,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.bin.parent.mkdir(parents=True, exist_ok=True)
        q = shell_quote
        self.bin.write_text(
            "#!/bin/sh\n"
            "# tether.exe under Wine, called the way the Linux tests call tether (tests/windows/wine.py).\n"
            + "".join(f"export {k}={q(v)}\n" for k, v in self.env.items())
            + "unset DISPLAY WAYLAND_DISPLAY\n"
            # A Unix TETHER_HOME becomes Z:\\…, the Windows path of the same directory.
            + 'case "${TETHER_HOME:-}" in /*) TETHER_HOME="Z:$(printf %s "$TETHER_HOME" | tr / \'\\\\\')"; export TETHER_HOME;; esac\n'
            + f'exec {q(wine_bin())} {q(str(self.exe))} "$@"\n'
        )
        self.bin.chmod(0o755)

    def shutdown(self) -> None:
        subprocess.run([wineserver_bin(), "-k"], env=self._env(), timeout=60, check=False)

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    # --- the Windows user's folders ---------------------------------------------------

    @property
    def profile(self) -> Path:
        """%USERPROFILE%: C:\\users\\<the Unix user>."""
        users = self.prefix / "drive_c" / "users"
        found = [p for p in users.iterdir() if p.name not in ("Public",) and p.is_dir()]
        assert len(found) == 1, found
        return found[0]

    @property
    def appdata(self) -> Path:
        return self.profile / "AppData" / "Roaming"

    @property
    def local_appdata(self) -> Path:
        return self.profile / "AppData" / "Local"

    @property
    def temp(self) -> Path:
        """%TEMP%, as Windows programs in the prefix see it (Wine 8: C:\\users\\<user>\\Temp)."""
        r = self.run(Path("cmd.exe"), "/c", "echo %TEMP%", text=True)
        assert r.returncode == 0, r.stderr
        return self.unix(r.stdout.strip())

    def unix(self, windows_path: str) -> Path:
        """The Unix path of a C: or Z: path."""
        drive, rest = windows_path[0].upper(), windows_path[2:].replace("\\", "/").lstrip("/")
        if drive == "Z":
            return Path("/") / rest
        if drive == "C":
            return self.prefix / "drive_c" / rest
        raise ValueError(windows_path)

    # --- running Windows programs -----------------------------------------------------

    def run(self, program: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
        """A Windows program of the prefix, with `env` added to its environment."""
        return subprocess.run([wine_bin(), str(program), *args], env={**self._env(), **(env or {})}, capture_output=True, timeout=timeout, **kwargs)

    def credentials(self) -> list[Credential]:
        """Every generic credential, read by creds.exe (not by tether.exe)."""
        r = self.run(self.support / "creds.exe")
        assert r.returncode == 0, r.stderr
        out = []
        for line in r.stdout.decode().splitlines():
            target, user, size, blob = line.split("\t")
            out.append(Credential(target, user, int(size), bytes.fromhex(blob).decode("utf-16-le")))
        return out

    @contextlib.contextmanager
    def holding_lock(self, path: Path):
        """Another Windows process holds an exclusive LockFileEx lock on `path`
        while the block runs (lockfile.exe)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(
            [wine_bin(), str(self.support / "lockfile.exe"), winpath(path)],
            env=self._env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None and proc.stdin is not None
            line = proc.stdout.readline()
            assert line.strip() == b"locked", (line, proc.stderr.read() if proc.poll() is not None else b"")
            yield
        finally:
            if proc.stdin and not proc.stdin.closed:
                proc.stdin.close()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def credentials_of(self, home: Path) -> dict[str, Credential]:
        """The credentials of one TETHER_HOME's keychain namespace, by user name
        (the keychain key, e.g. `bearer:corp`)."""
        service = f"Tether ({winpath(home)})"
        return {c.user: c for c in self.credentials() if c.target == f"{c.user}.{service}"}


def shell_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"
