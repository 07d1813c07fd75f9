#!/usr/bin/env python3
"""A scripted "browser" for sign-in tests, used as $BROWSER.

It returns at once, like a real browser launcher, and in the background GETs
the URL it was given, following redirects itself (up to 10) until one leads
to a loopback callback (http://127.0.0.1 or http://localhost), then delivers
that, retrying for 20 s while the client's listener is not up yet. Only
loopback URLs are fetched, so nothing leaves the machine. Test authorization
servers approve without a login page, so following redirects is all a
browser has to do. Each step is logged to $FAKE_BROWSER_LOG when it is set:
`<epoch> open <url>`, `<epoch> callback <status>`, `<epoch> stuck <why>`.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")


def log(line: str) -> None:
    path = os.environ.get("FAKE_BROWSER_LOG")
    if path:
        with open(path, "a") as f:
            f.write(f"{time.time():.3f} {line}\n")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def is_loopback(url: str) -> bool:
    return urllib.parse.urlsplit(url).hostname in LOOPBACK


def browse(url: str) -> None:
    log(f"open {url}")
    opener = urllib.request.build_opener(NoRedirect)
    current = url
    for _ in range(10):
        try:
            opener.open(current, timeout=10)
            log(f"stuck page without a redirect at {current}")
            return
        except urllib.error.HTTPError as e:
            location = e.headers.get("location")
            if not location or e.code not in (301, 302, 303, 307, 308):
                log(f"stuck HTTP {e.code} at {current}")
                return
            current = urllib.parse.urljoin(current, location)
        except OSError as e:
            log(f"stuck {e!r} at {current}")
            return
        if not is_loopback(current):
            log(f"stuck refusing to leave the machine for {current}")
            return
        if "code=" in current or "error=" in current:
            deliver(current)
            return
    log("stuck too many redirects")


def deliver(callback: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(callback, timeout=10) as r:
                log(f"callback {r.status}")
            return
        except urllib.error.HTTPError as e:
            log(f"callback {e.code}")
            return
        except OSError:
            if time.monotonic() > deadline:
                log("stuck the callback listener never answered")
                return
            time.sleep(0.2)


def main() -> int:
    url = next((a for a in sys.argv[1:] if a.startswith(("http://", "https://"))), None)
    if url is None or not is_loopback(url):
        log(f"refused {sys.argv[1:]}")
        return 1
    # Detach, as a browser launcher does: the caller must not wait for us.
    if os.fork() > 0:
        return 0
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    browse(url)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
