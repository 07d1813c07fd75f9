#!/usr/bin/python3
"""A StatusNotifier host for the tray tests: it owns
org.kde.StatusNotifierWatcher on the test's D-Bus session, so the app's
tray icon (libayatana-appindicator) registers with it as it would with a
desktop panel, and it reads and clicks the icon's menu over
com.canonical.dbusmenu, as a panel does when the user clicks.

Runs under /usr/bin/python3 (Debian's python3-gi). Commands, one per line on
stdin, each answered by one JSON line on stdout:

    items            the registered items: [{"service", "path"}]
    item             the first item's properties: Id, Title, Status, IconName,
                     IconThemePath, Menu, ToolTip (null where the item has none)
    menu             the first item's menu as a tree:
                     [{"id", "label", "enabled", "toggle", "children": [...]}]
    click <id>       sends the "clicked" event to menu item <id>
"""

from __future__ import annotations

import json
import sys
import time

from gi.repository import Gio, GLib

XML = """<node><interface name="org.kde.StatusNotifierWatcher">
 <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
 <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
 <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
 <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
 <property name="ProtocolVersion" type="i" access="read"/>
 <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
 <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
 <signal name="StatusNotifierHostRegistered"/>
</interface></node>"""
ITEM = "org.kde.StatusNotifierItem"
MENU = "com.canonical.dbusmenu"

items: list[tuple[str, str]] = []
bus = Gio.bus_get_sync(Gio.BusType.SESSION)


def on_call(conn, sender, path, iface, method, params, inv):
    if method == "RegisterStatusNotifierItem":
        svc = params.unpack()[0]
        item = (sender, svc) if svc.startswith("/") else (svc, "/StatusNotifierItem")
        if item not in items:
            items.append(item)
        conn.emit_signal(None, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher", "StatusNotifierItemRegistered", GLib.Variant("(s)", (item[0] + item[1],)))
    inv.return_value(None)


def on_get(conn, sender, path, iface, prop):
    return {
        "RegisteredStatusNotifierItems": GLib.Variant("as", [a + b for a, b in items]),
        "IsStatusNotifierHostRegistered": GLib.Variant("b", True),
        "ProtocolVersion": GLib.Variant("i", 0),
    }[prop]


def call(dest, path, iface, method, sig, args):
    return bus.call_sync(dest, path, iface, method, GLib.Variant(sig, args), None, 0, 5000, None).unpack()


def prop(dest, path, name):
    return call(dest, path, "org.freedesktop.DBus.Properties", "Get", "(ss)", (ITEM, name))[0]


def tree(node) -> dict:
    cid, props, children = node
    return {
        "id": cid,
        "label": props.get("label", ""),
        "enabled": props.get("enabled", True),
        "visible": props.get("visible", True),
        "type": props.get("type", "standard"),
        "toggle": props.get("toggle-state"),
        "children": [tree(c) for c in children],
    }


def answer(line: str):
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "items":
        return [{"service": s, "path": p} for s, p in items]
    if not items:
        return {"error": "no tray item registered"}
    dest, path = items[0]
    if cmd == "item":
        out = {}
        # Not every item has every property (libayatana has no ToolTip or
        # IconPixmap: its icon is a file, IconName in IconThemePath).
        for name in ("Id", "Title", "Status", "IconName", "IconThemePath", "Menu", "ToolTip"):
            try:
                out[name] = prop(dest, path, name)
            except GLib.Error:
                out[name] = None
        return out
    menu = prop(dest, path, "Menu")
    if cmd == "menu":
        _rev, layout = call(dest, menu, MENU, "GetLayout", "(iias)", (0, -1, []))
        return tree(layout)["children"]
    if cmd == "click":
        call(dest, menu, MENU, "Event", "(isvu)", (int(arg), "clicked", GLib.Variant("i", 0), int(time.time())))
        return {"clicked": int(arg)}
    return {"error": f"unknown command {cmd!r}"}


def on_stdin(channel, condition):
    line = sys.stdin.readline()
    if not line:
        loop.quit()
        return False
    try:
        reply = answer(line)
    except GLib.Error as e:
        reply = {"error": e.message}
    print(json.dumps(reply), flush=True)
    return True


node = Gio.DBusNodeInfo.new_for_xml(XML)
bus.register_object("/StatusNotifierWatcher", node.interfaces[0], on_call, on_get, None)
Gio.bus_own_name_on_connection(bus, "org.kde.StatusNotifierWatcher", 0, None, None)
loop = GLib.MainLoop()
GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP, on_stdin)
print(json.dumps({"ready": True}), flush=True)
loop.run()
