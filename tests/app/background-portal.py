'''python3-dbusmock template: xdg-desktop-portal's Background interface.

RequestBackground answers as the real portal does: a Request object at
/org/freedesktop/portal/desktop/request/SENDER/TOKEN emits Response after
the call returns, granting "autostart" as asked. A call without
reason or with another command line gets response 2 (error), so a test
sees what the app sent. Parameters: {"sender": "1_23"}, the caller's
unique name without ":" and with "." as "_" (the mock is not told who
calls).
'''
import dbus
from gi.repository import GLib

import dbusmock

BUS_NAME = 'org.freedesktop.portal.Desktop'
MAIN_OBJ = '/org/freedesktop/portal/desktop'
MAIN_IFACE = 'org.freedesktop.portal.Background'
SYSTEM_BUS = False

REQUEST_IFACE = 'org.freedesktop.portal.Request'


def load(mock, parameters):
    sender = parameters['sender']

    def request_background(self, parent_window, options):
        path = f'{MAIN_OBJ}/request/{sender}/{options["handle_token"]}'
        wanted = bool(options.get('autostart', False))
        ok = ('reason' in options and
              list(options.get('commandline', [])) == ['understudy', '--background'])

        def respond():
            if path not in dbusmock.get_objects():
                self.AddObject(path, REQUEST_IFACE, {}, [])
            results = {'background': dbus.Boolean(ok), 'autostart': dbus.Boolean(ok and wanted)}
            dbusmock.get_object(path).EmitSignal(REQUEST_IFACE, 'Response', 'ua{sv}',
                                                 [dbus.UInt32(0 if ok else 2), results])
            return False

        GLib.timeout_add(20, respond)
        return dbus.ObjectPath(path)

    mock.AddMethod(MAIN_IFACE, 'RequestBackground', 'sa{sv}', 'o', request_background)
