#!/usr/bin/python3
"""Prints the text on the X CLIPBOARD, as an application pasting it reads
it: a ConvertSelection to UTF8_STRING on a window of its own, then the
property the owner wrote (ICCCM §2.4). Exits 1 when nobody owns the
clipboard or the owner does not answer. Runs under /usr/bin/python3
(Debian's python3-xlib).

    x11_clipboard.py
"""

import sys
import time

from Xlib import X, display

d = display.Display()
w = d.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent)
clipboard = d.intern_atom("CLIPBOARD")
utf8 = d.intern_atom("UTF8_STRING")
prop = d.intern_atom("TETHER_TEST_PASTE")
if d.get_selection_owner(clipboard) == X.NONE:
    sys.exit(1)
w.convert_selection(clipboard, utf8, prop, X.CurrentTime)
d.flush()
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    while d.pending_events():
        e = d.next_event()
        if e.type == X.SelectionNotify:
            if e.property == X.NONE:
                sys.exit(1)
            value = w.get_full_property(prop, X.AnyPropertyType)
            data = value.value if value else b""
            sys.stdout.write(data.decode("utf-8") if isinstance(data, bytes) else str(data))
            sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
