#!/usr/bin/env python3
"""meson install --destdir into a temporary directory, then the installed
tree: the binary, desktop entry, metainfo, D-Bus service, autostart
template, systemd user unit, icons at their sizes, translations, and the
installed binary speaking German and French.  TAP output."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

APP_ID = 'io.github.understudy.Understudy'

results = []


def check(name, ok, detail=''):
    results.append(ok)
    print(f'{"ok" if ok else "not ok"} {len(results)} - {name}')
    if not ok and detail:
        for line in str(detail).splitlines():
            print(f'# {line}')


def read(path):
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except OSError as e:
        return e


def keys(text, group):
    """The key=value lines of one [group] of a desktop-style file."""
    if not isinstance(text, str):
        return {}
    out, current = {}, None
    for line in text.splitlines():
        if line.startswith('['):
            current = line.strip('[]')
        elif current == group and '=' in line and not line.startswith('#'):
            k, v = line.split('=', 1)
            out[k.strip()] = v.strip()
    return out


def svg_size(path):
    root = ET.parse(path).getroot()
    return root.get('width'), root.get('height')


def main():
    ap = argparse.ArgumentParser()
    for opt in ('meson', 'builddir', 'srcdir', 'prefix', 'bindir', 'datadir', 'localedir', 'unitdir'):
        ap.add_argument('--' + opt, required=True)
    a = ap.parse_args()

    destdir = tempfile.mkdtemp(prefix='understudy-install-')
    try:
        run = subprocess.run([a.meson, 'install', '-C', a.builddir, '--destdir', destdir, '--no-rebuild'],
                             capture_output=True, text=True)
        check('meson install --destdir', run.returncode == 0, run.stdout + run.stderr)

        def inside(*parts):
            path = os.path.join(*parts)
            if not os.path.isabs(path):
                path = os.path.join(a.prefix, path)
            return destdir + path

        bindir = os.path.join(a.prefix, a.bindir)
        binary = inside(a.bindir, 'understudy')
        check('the binary is installed and executable', os.access(binary, os.X_OK), binary)

        desktop = read(inside(a.datadir, 'applications', APP_ID + '.desktop'))
        entry = keys(desktop, 'Desktop Entry')
        action = keys(desktop, 'Desktop Action toggle-routing')
        check('desktop entry: runs understudy with its icon',
              entry.get('Exec') == 'understudy' and entry.get('Icon') == APP_ID, desktop)
        check('desktop entry: "Toggle routing" runs `understudy routing toggle`',
              'toggle-routing' in entry.get('Actions', '').split(';')
              and action.get('Exec') == 'understudy routing toggle', desktop)
        check('desktop entry: translated into German and French',
              'Comment[de]' in entry and 'Comment[fr]' in entry and 'Name[de]' in action, desktop)

        metainfo_path = inside(a.datadir, 'metainfo', APP_ID + '.metainfo.xml')
        try:
            component = ET.parse(metainfo_path).getroot()
            lang = '{http://www.w3.org/XML/1998/namespace}lang'
            summaries = {s.get(lang) for s in component.findall('summary')}
            check('metainfo: installed with its id, launchable and binary',
                  component.findtext('id') == APP_ID
                  and component.findtext('launchable') == APP_ID + '.desktop'
                  and component.findtext('provides/binary') == 'understudy')
            check('metainfo: summary translated into German and French', {'de', 'fr'} <= summaries, summaries)
        except (OSError, ET.ParseError) as e:
            check('metainfo: installed with its id, launchable and binary', False, e)
            check('metainfo: summary translated into German and French', False, e)

        service = keys(read(inside(a.datadir, 'dbus-1', 'services', APP_ID + '.service')), 'D-BUS Service')
        check('D-Bus service activates the installed binary',
              service.get('Name') == APP_ID
              and service.get('Exec') == os.path.join(bindir, 'understudy') + ' --gapplication-service', service)

        autostart = keys(read(inside(a.datadir, 'understudy', APP_ID + '-autostart.desktop')), 'Desktop Entry')
        check('autostart template starts in the background',
              autostart.get('Exec') == 'understudy --background' and autostart.get('Type') == 'Application',
              autostart)

        unit_text = read(inside(a.unitdir, 'understudy.service'))
        unit = keys(unit_text, 'Service')
        check('systemd user unit runs the installed binary headless',
              unit.get('ExecStart') == os.path.join(bindir, 'understudy') + ' --headless'
              and keys(unit_text, 'Install').get('WantedBy') == 'default.target', unit_text)

        # systemd's own reading of the unit, with ExecStart pointed at the
        # binary as installed here (the prefix itself is empty on this machine).
        if shutil.which('systemd-analyze'):
            with tempfile.TemporaryDirectory() as tmp:
                runtime = os.path.join(tmp, 'runtime')
                os.mkdir(runtime, 0o700)
                unit_copy = os.path.join(tmp, 'understudy.service')
                with open(unit_copy, 'w', encoding='utf-8') as f:
                    f.write(unit_text.replace(os.path.join(bindir, 'understudy'), binary))
                r = subprocess.run(['systemd-analyze', 'verify', '--user', unit_copy], capture_output=True,
                                   text=True, env={**os.environ, 'XDG_RUNTIME_DIR': runtime})
                check('systemd-analyze verify --user accepts the unit', r.returncode == 0, r.stdout + r.stderr)

        # Every icon in the source tree, installed at the same place and drawn
        # at the size its directory promises.
        src_icons = os.path.join(a.srcdir, 'icons', 'hicolor')
        icon_files = sorted(os.path.relpath(os.path.join(d, f), src_icons)
                            for d, _, files in os.walk(src_icons) for f in files)
        expected = ['scalable/apps/' + APP_ID + '.svg', 'symbolic/apps/' + APP_ID + '-symbolic.svg']
        check('app icons exist: scalable and symbolic', all(e in icon_files for e in expected), icon_files)
        for rel in icon_files:
            installed = inside(a.datadir, 'icons', 'hicolor', rel)
            if not os.path.isfile(installed):
                check(f'icon {rel} is installed', False, installed)
                continue
            size_dir = rel.split('/')[0]
            try:
                w, h = svg_size(installed)
            except (OSError, ET.ParseError) as e:
                check(f'icon {rel} is a readable SVG', False, e)
                continue
            if size_dir == 'symbolic':
                want = ('16', '16')
            elif size_dir == 'scalable':
                want = ('128', '128')
            else:
                n = re.match(r'^(\d+)x\1$', size_dir)
                want = (n.group(1), n.group(1)) if n else None
            check(f'icon {rel} is installed at {want[0] if want else "?"} px', (w, h) == want, f'{w}x{h}')

        with open(os.path.join(a.srcdir, 'po', 'LINGUAS'), encoding='utf-8') as f:
            langs = [w for line in f for w in line.split('#')[0].split()]
        for lang in langs:
            mo = inside(a.localedir, lang, 'LC_MESSAGES', 'understudy.mo')
            check(f'translations for {lang} installed', os.path.isfile(mo), mo)

        # LANGUAGE is ignored in the C locale: C.UTF-8 is not "C".
        def help_in(language):
            env = {k: v for k, v in os.environ.items() if not k.startswith('LC_')}
            env.update(LANG='C.UTF-8', LANGUAGE=language)
            return subprocess.run([binary, '--help'], capture_output=True, text=True, env=env)

        english = help_in('')
        german = help_in('de')
        french = help_in('fr')
        check('understudy --help in English by default',
              english.returncode == 0 and english.stdout.startswith('Usage:'), english.stdout + english.stderr)
        check('LANGUAGE=de understudy --help prints German',
              german.returncode == 0 and german.stdout.startswith('Aufruf:')
              and 'nur der Proxy' in german.stdout, german.stdout + german.stderr)
        check('LANGUAGE=fr understudy --help prints French',
              french.returncode == 0 and french.stdout.startswith('Utilisation :')
              and 'le proxy seul' in french.stdout, french.stdout + french.stderr)
    finally:
        shutil.rmtree(destdir, ignore_errors=True)

    print(f'1..{len(results)}')
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
