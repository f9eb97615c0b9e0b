#!/usr/bin/env python3
"""The Flatpak manifest parses, pins every download by sha256 and asks for
exactly the permissions the README explains (issue 8), nothing more."""
import json
import re
import shutil
import subprocess
import sys

APP_ID = 'io.github.understudy.Understudy'
FINISH_ARGS = {
    '--share=network',                          # the providers' APIs
    '--share=ipc',                              # X11's shared memory, with fallback-x11
    '--socket=wayland',
    '--socket=fallback-x11',
    '--talk-name=org.kde.StatusNotifierWatcher',  # the tray
    '--filesystem=~/.claude',                   # the client configs `connect` edits
    '--filesystem=~/.claude.json',
    '--filesystem=~/.codex',
    '--filesystem=xdg-config/opencode',
}
SHA256 = re.compile(r'^[0-9a-f]{64}$')


def sources_problems(module, path):
    problems = []
    for i, source in enumerate(module.get('sources', [])):
        where = f'{path}.sources[{i}]'
        if isinstance(source, str):
            problems.append(f'{where}: an external source file cannot be checked')
            continue
        kind = source.get('type')
        if kind == 'dir':
            # Only this repository itself, built by its own module.
            if module.get('name') != 'understudy' or source.get('path') != '..':
                problems.append(f'{where}: a dir source other than this repository')
        elif kind in ('archive', 'file'):
            if not SHA256.match(source.get('sha256', '')):
                problems.append(f'{where}: no sha256')
            if not source.get('url', '').startswith('https://'):
                problems.append(f'{where}: url is not https')
        else:
            problems.append(f'{where}: type "{kind}" is not pinned by sha256')
    for j, sub in enumerate(module.get('modules', [])):
        if isinstance(sub, str):
            problems.append(f'{path}.modules[{j}]: an external module file cannot be checked')
        else:
            problems += sources_problems(sub, f'{path}.modules[{j}]')
    return problems


def main(path):
    with open(path, encoding='utf-8') as f:
        manifest = json.load(f)
    problems = []

    def expect(key, value):
        if manifest.get(key) != value:
            problems.append(f'$.{key} is {manifest.get(key)!r}, expected {value!r}')

    expect('id', APP_ID)
    expect('runtime', 'org.gnome.Platform')
    expect('sdk', 'org.gnome.Sdk')
    expect('command', 'understudy')
    if not re.match(r'^\d+$', str(manifest.get('runtime-version', ''))):
        problems.append('$.runtime-version is not a stable GNOME release number')

    args = manifest.get('finish-args', [])
    if len(args) != len(set(args)):
        problems.append('$.finish-args has duplicates')
    for extra in sorted(set(args) - FINISH_ARGS):
        problems.append(f'$.finish-args: {extra} is not allowed')
    for missing in sorted(FINISH_ARGS - set(args)):
        problems.append(f'$.finish-args: {missing} is missing')

    modules = manifest.get('modules', [])
    for i, module in enumerate(modules):
        if isinstance(module, str):
            problems.append(f'$.modules[{i}]: an external module file cannot be checked')
        else:
            problems += sources_problems(module, f'$.modules[{i}]')
    last = modules[-1] if modules and isinstance(modules[-1], dict) else {}
    if last.get('name') != 'understudy' or last.get('buildsystem') != 'meson':
        problems.append('$.modules: the last module is not the meson build of understudy')

    # flatpak-builder's own reading of it: the parser the real build uses.
    if shutil.which('flatpak-builder'):
        r = subprocess.run(['flatpak-builder', '--show-manifest', path], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f'flatpak-builder --show-manifest: {r.stderr.strip()}')
        else:
            print('flatpak-builder --show-manifest: parsed')

    for p in problems:
        print(p)
    print(f'{len(args)} finish-args, {len(modules)} modules, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
