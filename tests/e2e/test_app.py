"""The Tether app end to end, as a person uses it: the built `tether-app`
(with the built `tether` beside it as its sidecar) under Xvfb, its window
driven by WebDriver (tauri-driver over Debian's WebKitWebDriver), its tray
menu read and clicked through a StatusNotifier host on the test's D-Bus
session (sni_host.py), real files in a temporary HOME, the real Secret
Service, and a real OAuth server (oidc-provider in front of
server-everything) with the scripted browser as $BROWSER.

Screenshots of the window and of the tray menu go to tests/.artifacts/app/.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge import ROOT, tether_bin
from conftest import free_port, wait_for_port
from fakes import FakeMcp
from oauth_peer import OAuthMcp
from test_oauth import stored_tokens

E2E = Path(__file__).resolve().parent
APP = Path(os.environ.get("TETHER_APP_BIN") or ROOT / "target" / "debug" / "tether-app")
ARTIFACTS = ROOT / "tests" / ".artifacts" / "app"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3-gi imports only there

pytestmark = pytest.mark.skipif(
    not os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
    reason="needs a D-Bus session with a Secret Service: tests/run runs the tests in one",
)


def require(path_or_cmd: str) -> str:
    found = shutil.which(path_or_cmd) or (path_or_cmd if Path(path_or_cmd).exists() else None)
    if not found:
        pytest.fail(f"{path_or_cmd} is missing: tests/run installs it (and builds the app)")
    return found


# --- the desktop: X server, tray host, WebDriver -------------------------------------------


@pytest.fixture(scope="module")
def display():
    """A private X server (Xvfb picks a free display number)."""
    xvfb = require("Xvfb")
    r, w = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"], pass_fds=(w,), stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    assert number, "Xvfb did not report a display"
    yield f":{number}"
    proc.terminate()
    proc.wait(5)


class TrayHost:
    """The StatusNotifier host (sni_host.py), asked line by line."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([require(SYSTEM_PYTHON), str(E2E / "sni_host.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert json.loads(self._line()) == {"ready": True}

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the tray host died"
        return line

    def ask(self, command: str):
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self._line())

    def wait_for_item(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ask("items"):
                return
            time.sleep(0.1)
        pytest.fail("the app's tray icon never registered with the tray host")

    def menu(self) -> list[dict]:
        return self.ask("menu")

    def find(self, label_start: str, items: list[dict] | None = None) -> dict | None:
        for item in items if items is not None else self.menu():
            if item["label"].startswith(label_start):
                return item
            found = self.find(label_start, item["children"])
            if found:
                return found
        return None

    def wait_for(self, label_start: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            item = self.find(label_start)
            if item:
                return item
            time.sleep(0.2)
        pytest.fail(f"no tray menu item starts with {label_start!r}; the menu: {json.dumps(self.menu())}")

    def click(self, label_start: str) -> None:
        item = self.wait_for(label_start)
        assert item["enabled"], f"{item['label']!r} is disabled"
        self.ask(f"click {item['id']}")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


@pytest.fixture
def tray():
    host = TrayHost()
    yield host
    host.close()


@pytest.fixture
def user(tmp_path):
    """A person's machine: a HOME with Claude Desktop installed (its config
    holds another server and keys Tether must keep), and Tether's own home."""
    home = tmp_path / "home"
    claude = home / ".config" / "Claude"
    claude.mkdir(parents=True)
    (claude / "claude_desktop_config.json").write_text(
        json.dumps({"mcpServers": {"filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]}}, "globalShortcut": "Ctrl+Space"}, indent=2)
    )
    return {"home": home, "tether_home": tmp_path / "tether-home", "claude_config": claude / "claude_desktop_config.json", "browser_log": tmp_path / "browser.log"}


def app_env(display: str, user: dict) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "APPDATA", "LOCALAPPDATA", "CLAUDE_CONFIG_DIR", "WAYLAND_DISPLAY")}
    env.update(
        {
            "DISPLAY": display,
            "HOME": str(user["home"]),
            "TETHER_HOME": str(user["tether_home"]),
            "BROWSER": str(E2E / "fake_browser.py"),
            "FAKE_BROWSER_LOG": str(user["browser_log"]),
            "NO_AT_BRIDGE": "1",
        }
    )
    return env


@contextlib.contextmanager
def window(display: str, user: dict):
    """The app started by tauri-driver with its window open, as a WebDriver session."""
    from selenium import webdriver
    from selenium.webdriver.common.options import ArgOptions

    require(str(APP))
    require("WebKitWebDriver")
    port, native = free_port(), free_port()
    driver_log = open(user["home"].parent / "tauri-driver.log", "wb")
    proc = subprocess.Popen(
        [require("tauri-driver"), "--port", str(port), "--native-port", str(native)],
        env=app_env(display, user),
        stdout=driver_log,
        stderr=subprocess.STDOUT,
    )
    try:
        # tauri-driver listens before the WebKitWebDriver it starts does.
        wait_for_port(port, proc)
        wait_for_port(native, proc)
        opts = ArgOptions()
        opts.set_capability("browserName", "wry")
        opts.set_capability("tauri:options", {"application": str(APP), "args": ["--open"]})
        d = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=opts)
        try:
            d.set_window_size(900, 680)
            yield d
        finally:
            with contextlib.suppress(Exception):  # a test may have closed the window
                d.quit()
    finally:
        proc.terminate()
        proc.wait(10)
        driver_log.close()
        # The driver's app goes away after the session; the next test's app
        # must not meet it (one instance only: it would hand over and exit).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and subprocess.run(["pgrep", "-f", str(APP)], capture_output=True).returncode == 0:
            time.sleep(0.2)
        subprocess.run(["pkill", "-f", str(APP)], capture_output=True)


def wait(d, condition, timeout: float = 30, what: str = "the window"):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        # An element found by one poll may be redrawn before the next look.
        return WebDriverWait(d, timeout, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException]).until(lambda _: condition())
    except Exception as e:  # noqa: BLE001 - say what was on screen
        shot(d, "failure")
        body = d.find_element("css selector", "body").text
        raise AssertionError(f"{what} never got there; the window shows:\n{body}") from e


def shot(d, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    d.save_screenshot(str(path))
    return path


def css(d, selector: str):
    return d.find_element("css selector", selector)


def fresh(d, selector: str, act, timeout: float = 10):
    """Does `act` to `selector`, finding it again if the live window redrew
    it meanwhile (the server list redraws when a bridge writes its status)."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        try:
            return act(css(d, selector))
        except StaleElementReferenceException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def click(d, selector: str) -> None:
    fresh(d, selector, lambda e: e.click())


def type_into(d, selector: str, text: str) -> None:
    fresh(d, selector, lambda e: (e.clear(), e.send_keys(text)))


def tick(d, selector: str) -> None:
    fresh(d, selector, lambda e: e.is_selected() or e.click())


def present(d, selector: str):
    found = d.find_elements("css selector", selector)
    return found[0] if found else None


def tether_windows(env: dict) -> list[str]:
    """Every X window named Tether, mapped or not."""
    return subprocess.run([require("xdotool"), "search", "--name", "^Tether$"], capture_output=True, text=True, env=env).stdout.split()


def claude_config_with(user: dict, name: str, timeout: float = 15) -> dict:
    """Claude Desktop's config, once it has an entry `name` (or at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        config = json.loads(user["claude_config"].read_text())
        if name in config.get("mcpServers", {}) or time.monotonic() > deadline:
            return config
        time.sleep(0.2)


def files_under(*roots: Path):
    for root in roots:
        for p in root.rglob("*"):
            if p.is_file():
                yield p


# --- the tests ------------------------------------------------------------------------------


def test_a_person_adds_an_oauth_server_signs_in_with_one_click_and_claude_desktop_gets_the_entry(display, user, everything_http):
    with OAuthMcp(everything_http, access_ttl=120) as peer, window(display, user) as d:
        wait(d, lambda: present(d, "#nav-add"), what="the window")
        click(d, "#nav-add")
        type_into(d, "#add-url", peer.mcp_url)
        click(d, "#add-check")
        wait(d, lambda: present(d, "#add-kind[data-kind]"), what="the probe's verdict")
        kind = fresh(d, "#add-kind", lambda e: (e.get_attribute("data-kind"), e.text))
        assert kind[0] == "oauth", kind
        type_into(d, "#add-name", "everything")
        tick(d, "input[name=client][value=claude-desktop]")
        shot(d, "add-server")
        click(d, "#add-submit")
        wait(d, lambda: (e := present(d, "#add-signin")) is not None and e.get_attribute("data-state") == "done", timeout=90, what="the sign-in")
        result = fresh(d, "#add-result", lambda e: e.text)
        assert str(user["claude_config"]) in result, result
        shot(d, "signed-in")

        click(d, "#nav-servers")
        wait(d, lambda: present(d, "[data-server=everything][data-state=signed-in]"), what="the server row turning signed in")
        row_text = fresh(d, "[data-server=everything]", lambda e: e.text)
        assert "signed in" in row_text, row_text
        shot(d, "servers")

        # Diagnose shows `tether doctor`'s report in the window.
        click(d, "[data-server=everything] [data-action=diagnose]")
        summary = wait(d, lambda: (e := present(d, "#diagnose-summary")) is not None and e.text, timeout=90, what="the doctor's report")
        ids = set(d.execute_script("return [...document.querySelectorAll('li[data-finding]')].map(e => e.dataset.finding)"))
        assert {"url.https", "net.dns", "mcp.initialize"} <= ids, (summary, ids)
        assert not d.find_elements("css selector", "li[data-finding][data-level=error]"), summary
        shot(d, "diagnose")
        # "Copy report" puts the same report on the clipboard in Markdown,
        # with the table of MCP clients, and nothing secret.
        click(d, "#diagnose-copy")
        wait(d, lambda: (e := present(d, "#diagnose-copied")) is not None and e.is_displayed(), what="the report copied")
        pasted = subprocess.run(
            [require(SYSTEM_PYTHON), str(E2E / "x11_clipboard.py")], env=app_env(display, user), capture_output=True, text=True, timeout=30
        )
        assert pasted.returncode == 0, pasted.stderr
        report_md = pasted.stdout
        assert report_md.startswith(f"# `tether doctor` report for {peer.mcp_url}"), report_md[:200]
        assert "| Claude Desktop through Tether |" in report_md and "## Every check" in report_md, report_md
        copied_tokens = stored_tokens(user["tether_home"])
        assert copied_tokens["access_token"] not in report_md and copied_tokens["refresh_token"] not in report_md
        click(d, "#nav-settings")
        wait(d, lambda: present(d, "input[name=settings-client][value=claude-desktop]"), what="the settings")
        shot(d, "settings")


    # One browser visit did it.
    opened = [line for line in user["browser_log"].read_text().splitlines() if " open " in line]
    assert len(opened) == 1, opened
    # Claude Desktop's config gained a stdio entry running the sidecar, and
    # kept everything else.
    config = json.loads(user["claude_config"].read_text())
    assert config["mcpServers"]["everything"] == {"command": str(APP.parent / "tether"), "args": ["run", "everything"]}
    assert config["mcpServers"]["filesystem"]["command"] == "npx"
    assert config["globalShortcut"] == "Ctrl+Space"
    # The tokens are in the keychain and in no file.
    tokens = stored_tokens(user["tether_home"])
    secrets = [tokens["access_token"], tokens["refresh_token"]]
    assert all(len(s) > 20 for s in secrets)
    for f in files_under(user["home"], user["tether_home"]):
        data = f.read_bytes()
        for s in secrets:
            assert s.encode() not in data, f"a token is in {f}"


def test_claude_code_gets_the_http_entry_from_the_window_and_no_other_client_is_offered_it(display, user):
    """Issue 13: a server's MCP clients offer Claude Code (the one client
    with a headers hook) the HTTP entry; the window runs `tether install
    --http` through the sidecar, and the row shows the entry's kind."""
    with FakeMcp() as fake:
        env = app_env(display, user)
        r = subprocess.run([tether_bin(), "add", "docs", fake.url], capture_output=True, text=True, timeout=30, env=env)
        assert r.returncode == 0, r.stderr
        with window(display, user) as d:
            wait(d, lambda: present(d, "[data-server=docs] details.clients"), what="the server row with its clients")
            click(d, "[data-server=docs] details.clients summary")
            offered = d.execute_script("return [...document.querySelectorAll('[data-server=docs] [data-action=install-http]')].map(e => e.dataset.client)")
            assert offered == ["claude-code"], offered
            click(d, "[data-server=docs] [data-action=install-http][data-client=claude-code]")
            wait(
                d,
                lambda: (e := present(d, "[data-server=docs] [data-entry-kind]")) is not None and e.get_attribute("data-entry-kind") == "http",
                what="the row showing the HTTP entry",
            )
            shot(d, "http-entry")
    entry = json.loads((user["home"] / ".claude.json").read_text())["mcpServers"]["docs"]
    assert entry == {"type": "http", "url": fake.url, "headersHelper": f"{APP.parent / 'tether'} token docs --header=json"}, entry


def test_an_npx_mcp_remote_entry_is_imported_in_one_click_and_its_token_moves_to_the_keychain(display, user):
    token = "imported-app-token-5d2e91"
    with FakeMcp() as fake:
        fake.require_token = token
        config = json.loads(user["claude_config"].read_text())
        config["mcpServers"]["corp"] = {"command": "npx", "args": ["-y", "mcp-remote", fake.url, "--header", "Authorization:${AUTH}"], "env": {"AUTH": f"Bearer {token}"}}
        user["claude_config"].write_text(json.dumps(config, indent=2))
        with window(display, user) as d:
            wait(d, lambda: present(d, "#nav-add"))
            click(d, "#nav-add")
            wait(d, lambda: present(d, "#import-list input[name=import][value='claude-desktop:corp']"), what="the import list")
            tick(d, "#import-list input[name=import][value='claude-desktop:corp']")
            shot(d, "import")
            click(d, "#import-submit")
            wait(d, lambda: "corp" in ((e := present(d, "#import-result")) and e.text or ""), what="the import result")
            click(d, "#nav-servers")
            wait(d, lambda: present(d, "[data-server=corp]"), what="the imported server in the list")
            shot(d, "imported")

            # The server moves to a new path on its origin: Edit, a new URL,
            # the token left as it is (a token stays with its origin).
            fake.seen.clear()
            click(d, "[data-server=corp] [data-action=edit]")
            wait(d, lambda: present(d, "#view-add[data-mode=edit]"), what="the edit form")
            type_into(d, "#add-url", f"{fake.origin}/old-mcp")
            assert fresh(d, "#add-token", lambda e: e.get_attribute("value")) == ""
            click(d, "#add-submit")
            wait(d, lambda: (e := present(d, "#add-result")) is not None and e.is_displayed(), what="the saved edit")
            shot(d, "edited")
            servers = json.loads((user["tether_home"] / "config" / "servers.json").read_text())
            assert servers["servers"]["corp"]["url"] == f"{fake.origin}/old-mcp"
            env = {**os.environ, "TETHER_HOME": str(user["tether_home"])}
            init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
            # Claude Desktop's entry works, with the token from the keychain.
            entry = json.loads(user["claude_config"].read_text())["mcpServers"]["corp"]
            r = subprocess.run([entry["command"], *entry["args"]], input=json.dumps(init) + "\n", capture_output=True, text=True, timeout=30, env=env)
            assert '"result"' in r.stdout, r.stdout + r.stderr
            assert any(x.path == "/old-mcp" for x in fake.seen), "the new URL is used"
            assert fake.seen and all(x.headers.get("authorization") == f"Bearer {token}" for x in fake.seen)
        after = json.loads(user["claude_config"].read_text())
        assert after["mcpServers"]["corp"]["command"] == str(APP.parent / "tether")
        assert after["mcpServers"]["corp"]["args"] == ["run", "corp"]
        assert "env" not in after["mcpServers"]["corp"] or "AUTH" not in after["mcpServers"]["corp"]["env"]
        for f in files_under(user["home"], user["tether_home"]):
            assert token.encode() not in f.read_bytes(), f"the token is still in {f}"


def test_the_tray_menu_lists_each_server_with_its_state_and_its_actions_work(display, user, tray):
    # A server that needs no sign-in, added from the CLI; the tray shows it.
    with FakeMcp() as fake:
        env = app_env(display, user)
        r = subprocess.run([tether_bin(), "add", "docs", fake.url, "--no-auth"], capture_output=True, text=True, timeout=30, env=env)
        assert r.returncode == 0, r.stderr
        log = open(user["home"].parent / "app.log", "wb")
        app = subprocess.Popen([require(str(APP))], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            tray.wait_for_item()
            item = tray.ask("item")
            assert item.get("Status") == "Active", item
            icon = Path(item["IconThemePath"] or "/") / f"{item['IconName']}.png"
            if not icon.exists():
                icon = Path(item["IconName"])
            assert icon.is_file(), item
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(icon, ARTIFACTS / "tray-icon.png")
            menu = tray.menu()
            labels = [i["label"] for i in menu if i["type"] != "separator"]
            assert labels[0].startswith("docs — "), labels
            assert {"Add server…", "Open Tether", "Set up Claude Desktop…", "Start at login", "Quit"} <= set(labels), labels
            docs = tray.find("docs — ", menu)
            assert [c["label"] for c in docs["children"]] == ["Diagnose", "Copy the Claude config entry"], docs
            autostart = tray.find("Start at login", menu)
            assert autostart["toggle"] == 0
            render_menu(menu, ARTIFACTS / "tray-menu.png")

            # A second launch does not start a second tray: it exits and the
            # first one stays.
            second = subprocess.run([str(APP)], env=env, capture_output=True, timeout=30)
            assert second.returncode == 0
            assert app.poll() is None
            assert len(tray.ask("items")) == 1
            # ... and the first one shows its window.
            deadline = time.monotonic() + 15
            windows: list[str] = []
            while time.monotonic() < deadline and not windows:
                windows = subprocess.run([require("xdotool"), "search", "--onlyvisible", "--name", "^Tether$"], capture_output=True, text=True, env=env).stdout.split()
                time.sleep(0.2)
            assert windows, "the second launch did not bring up the first one's window"
            # Closing it (as a window manager asks: WM_DELETE_WINDOW) destroys
            # it, not hides it; the app lives on in the tray.
            time.sleep(1.5)  # a person takes longer than this to reach the close button
            def visible() -> set[str]:
                return set(subprocess.run([require("xdotool"), "search", "--onlyvisible", "--name", "^Tether$"], capture_output=True, text=True, env=env).stdout.split())

            # A window still on screen after a close is closed again, as a
            # person would click again (on a loaded machine the first request
            # can come before the webview is ready for it); a hidden window is
            # off screen, is not closed again, and fails below.
            deadline = time.monotonic() + 20
            next_close = 0.0
            while time.monotonic() < deadline and set(windows) & set(tether_windows(env)):
                if time.monotonic() >= next_close:
                    for w in set(windows) & visible():
                        subprocess.run([require(SYSTEM_PYTHON), str(E2E / "x11_close.py"), w], env=env, check=True, timeout=30)
                    next_close = time.monotonic() + 4
                time.sleep(0.2)
            assert not set(windows) & set(tether_windows(env)), "the window is hidden, not destroyed"
            assert app.poll() is None, "closing the window quit the app"
            assert len(tray.ask("items")) == 1

            # "Set up Claude Desktop…" writes the entry.
            tray.click("Set up Claude Desktop")
            config = claude_config_with(user, "docs")
            assert config["mcpServers"]["docs"]["args"] == ["run", "docs"]
            assert "filesystem" in config["mcpServers"]

            # Quit quits.
            tray.click("Quit")
            assert app.wait(15) == 0
        finally:
            if app.poll() is None:
                app.kill()
            log.close()


def test_the_tray_notices_when_claude_desktop_drops_its_servers_and_puts_them_back(display, user, tray):
    with FakeMcp() as fake:
        env = app_env(display, user)
        assert subprocess.run([tether_bin(), "add", "docs", fake.url, "--no-auth"], capture_output=True, timeout=30, env=env).returncode == 0
        assert subprocess.run([tether_bin(), "install", "docs"], capture_output=True, timeout=30, env=env).returncode == 0
        log_path = user["home"].parent / "app.log"
        with open(log_path, "wb") as log:
            app = subprocess.Popen([require(str(APP))], env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                tray.wait_for_item()
                # Claude Desktop rewrites its file without `mcpServers`.
                user["claude_config"].write_text(json.dumps({"globalShortcut": "Ctrl+Space"}))
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and "lost Tether's entries" not in log_path.read_text(errors="replace"):
                    time.sleep(0.2)
                assert "lost Tether's entries" in log_path.read_text(errors="replace")
                tray.click("Set up Claude Desktop")
                config = claude_config_with(user, "docs")
                assert config["mcpServers"]["docs"]["args"] == ["run", "docs"]
                assert config["globalShortcut"] == "Ctrl+Space"
            finally:
                app.terminate()
                app.wait(10)


def test_a_server_that_turns_into_needing_sign_in_is_told_once_and_the_menu_offers_the_sign_in(display, user, tray):
    """Issue 13: the turn into "needs sign-in" is told once (nothing opens by
    itself), the menu's top item is the sign-in, and a refresh while it stays
    so tells nothing more."""
    with FakeMcp() as fake:
        env = app_env(display, user)
        assert subprocess.run([tether_bin(), "add", "docs", fake.url, "--no-auth"], capture_output=True, timeout=30, env=env).returncode == 0
        log_path = user["home"].parent / "app.log"
        told = "docs needs you to sign in"
        with open(log_path, "wb") as log:
            app = subprocess.Popen([require(str(APP))], env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                tray.wait_for_item()
                tray.wait_for("docs — ")
                assert tray.find("Sign in to docs") is None
                # The server now signs in with OAuth, and nobody has: it needs a person.
                r = subprocess.run([tether_bin(), "add", "docs", fake.url], capture_output=True, text=True, timeout=30, env=env)
                assert r.returncode == 0, r.stderr
                top = tray.wait_for("Sign in to docs")
                assert tray.menu()[0]["label"] == "Sign in to docs", tray.menu()
                assert top["enabled"]
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and told not in log_path.read_text(errors="replace"):
                    time.sleep(0.2)
                assert told in log_path.read_text(errors="replace")
                # Another change while it stays so: the menu follows, nothing is told again.
                assert subprocess.run([tether_bin(), "add", "other", fake.url, "--no-auth"], capture_output=True, timeout=30, env=env).returncode == 0
                tray.wait_for("other — ")
                time.sleep(1)
                assert log_path.read_text(errors="replace").count(told) == 1
                assert not user["browser_log"].exists(), "a browser opened by itself"
            finally:
                app.terminate()
                app.wait(10)


def test_the_tray_menu_opens_from_the_icon_on_an_xembed_panel(display, user):
    """Without a StatusNotifier host (older panels), the icon sits in an
    XEmbed tray; a click on it opens the menu. The screenshot is the menu a
    person sees."""
    with FakeMcp() as fake:
        env = app_env(display, user)
        assert subprocess.run([tether_bin(), "add", "docs", fake.url, "--no-auth"], capture_output=True, timeout=30, env=env).returncode == 0
        panel = subprocess.Popen(
            [require("trayer"), "--edge", "bottom", "--align", "right", "--widthtype", "pixel", "--width", "120", "--heighttype", "pixel", "--height", "32",
             "--transparent", "true", "--alpha", "0", "--tint", "0x202020"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(user["home"].parent / "trayer.log", "wb"),
        )
        app = subprocess.Popen([require(str(APP))], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            xdotool = require("xdotool")
            geometry = None
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and geometry is None:
                found = subprocess.run([xdotool, "search", "--class", "trayer"], capture_output=True, text=True, env=env).stdout.split()
                for w in found:
                    g = dict(line.split("=", 1) for line in subprocess.run([xdotool, "getwindowgeometry", "--shell", w], capture_output=True, text=True, env=env).stdout.split())
                    if int(g["WIDTH"]) >= 100:
                        geometry = {k: int(v) for k, v in g.items() if k in ("X", "Y", "WIDTH", "HEIGHT")}
                time.sleep(0.2)
            assert geometry, f"the panel (trayer) never showed: {panel.poll()=} {(user['home'].parent / 'trayer.log').read_text(errors='replace')}"
            time.sleep(2)  # the icon docks into the panel
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            before, after = ARTIFACTS / "panel-before.png", ARTIFACTS / "tray-menu-xembed.png"
            subprocess.run(["import", "-window", "root", str(before)], env=env, check=True, timeout=30)
            x, y = geometry["X"] + geometry["WIDTH"] - 16, geometry["Y"] + geometry["HEIGHT"] // 2
            subprocess.run([xdotool, "mousemove", str(x), str(y)], env=env, check=True)
            time.sleep(0.5)
            subprocess.run([xdotool, "click", "1"], env=env, check=True)
            time.sleep(1.5)
            subprocess.run(["import", "-window", "root", str(after)], env=env, check=True, timeout=30)
            # The menu appeared above the panel: the screen changed there.
            diff = subprocess.run(["compare", "-metric", "AE", str(before), str(after), "null:"], capture_output=True, text=True, env=env)
            changed = int(float(diff.stderr.split()[0]))
            assert changed > 5000, f"clicking the icon changed {changed} pixels: no menu"
            # Keep the corner with the panel and its menu.
            left, top = max(0, geometry["X"] + geometry["WIDTH"] - 560), max(0, geometry["Y"] + geometry["HEIGHT"] - 440)
            subprocess.run(["convert", str(after), "-crop", f"560x440+{left}+{top}", "+repage", str(after)], env=env, check=True, timeout=30)
            before.unlink(missing_ok=True)
        finally:
            app.terminate()
            app.wait(10)
            panel.terminate()
            panel.wait(10)


def render_menu(menu: list[dict], path: Path) -> None:
    """Draws the menu the tray host received (labels, submenus, toggles,
    disabled items) as a PNG, so a person can look at it."""
    lines: list[str] = []

    def walk(items, depth):
        for i in items:
            if i["type"] == "separator":
                lines.append("  " * depth + "────────────")
                continue
            mark = "[x] " if i["toggle"] == 1 else "[ ] " if i["toggle"] == 0 else ""
            suffix = " ▸" if i["children"] else ""
            dim = "" if i["enabled"] else "  (disabled)"
            lines.append("  " * depth + mark + i["label"] + suffix + dim)
            walk(i["children"], depth + 1)

    walk(menu, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.with_suffix(".txt")
    text.write_text("\n".join(lines) + "\n")
    convert = shutil.which("convert")
    if convert:
        subprocess.run([convert, "-background", "white", "-fill", "black", "-font", "DejaVu-Sans", "-pointsize", "15", "label:" + "\n".join(lines), "-bordercolor", "white", "-border", "12", str(path)], check=False, capture_output=True, timeout=30)
