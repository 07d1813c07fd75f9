#!/usr/bin/python3
"""Asks an X window to close, as a window manager does when the user clicks
its close button: a WM_PROTOCOLS client message with WM_DELETE_WINDOW
(ICCCM §4.2.8.1). Runs under /usr/bin/python3 (Debian's python3-xlib).

    x11_close.py <window id>
"""

import sys

from Xlib import X, display
from Xlib.protocol import event

d = display.Display()
window = d.create_resource_object("window", int(sys.argv[1]))
protocols = d.intern_atom("WM_PROTOCOLS")
delete = d.intern_atom("WM_DELETE_WINDOW")
message = event.ClientMessage(window=window, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
window.send_event(message, event_mask=X.NoEventMask)
d.flush()
d.close()
