#!/usr/bin/env python3
"""Screenshots of the window in WebKitGTK (the engine Tauri uses on Linux),
with the fake backend: serves ui/dist, drives MiniBrowser through
WebKitWebDriver under Xvfb, saves PNGs to ui/screenshots/.

Run: npm run build && xvfb-run -a python3 scripts/screenshots.py [--dark]
"""
import base64
import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
UI = os.path.dirname(HERE)
OUT = os.path.join(UI, "screenshots")
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)["value"]


def main():
    dark = "--dark" in sys.argv
    os.makedirs(OUT, exist_ok=True)
    http_port, wd_port = free_port(), free_port()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=os.path.join(UI, "dist"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ)
    if dark:
        env["GTK_THEME"] = "Adwaita:dark"
    driver = subprocess.Popen(["WebKitWebDriver", f"--port={wd_port}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{wd_port}"
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(base + "/status", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "MiniBrowser", "webkitgtk:browserOptions": {"binary": MINIBROWSER, "args": ["--automation"]}}}}
        sid = call(base, "POST", "/session", caps)["sessionId"]
        s = f"/session/{sid}"
        call(base, "POST", s + "/window/rect", {"width": 720, "height": 560})
        suffix = "-dark" if dark else ""

        def shot(name):
            time.sleep(0.8)
            png = call(base, "GET", s + "/screenshot")
            path = os.path.join(OUT, f"{name}{suffix}.png")
            with open(path, "wb") as f:
                f.write(base64.b64decode(png))
            print(path)

        def run(js):
            return call(base, "POST", s + "/execute/sync", {"script": js, "args": []})

        page = f"http://127.0.0.1:{http_port}/index.html"
        call(base, "POST", s + "/url", {"url": page + "?fake=empty#servers"})
        shot("servers-empty")
        call(base, "POST", s + "/url", {"url": page + "?fake&wiped#servers"})
        shot("servers")
        run("document.querySelector('[data-server=linear] details').open = true; document.querySelector('[data-server=linear] [data-action=remove]').click()")
        shot("servers-remove")
        run("document.querySelector('#nav-add').click(); const u = document.querySelector('#add-url'); u.value = 'https://token.example.com/mcp'; document.querySelector('#add-check').click()")
        time.sleep(0.6)
        run("document.querySelector('#add-submit').click()")
        shot("add-token")
        run("const u = document.querySelector('#add-url'); u.value = 'https://mcp.linear.app/mcp'; u.dispatchEvent(new Event('input')); document.querySelector('#add-check').click()")
        time.sleep(0.6)
        run("document.querySelector('#add-name').value = 'linear-2'; document.querySelector('#add-submit').click()")
        time.sleep(0.5)
        shot("add-signing-in")
        time.sleep(1)
        shot("add-done")
        call(base, "POST", s + "/url", {"url": page + "?fake#diagnose=internal"})
        shot("diagnose")
        call(base, "POST", s + "/url", {"url": page + "?fake#settings"})
        time.sleep(0.8)
        run("const c = document.querySelector('#settings-cimd'); c.value = 'http://example.com/x.json'; c.dispatchEvent(new Event('input', {bubbles: true})); document.querySelector('#settings-save').click()")
        shot("settings")
        call(base, "POST", s + "/url", {"url": page + "?fake#logs"})
        shot("logs")
        call(base, "DELETE", s)
    finally:
        driver.terminate()
        driver.wait()
        server.shutdown()


if __name__ == "__main__":
    main()
