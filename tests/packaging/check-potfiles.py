#!/usr/bin/env python3
"""Every source file with translatable strings is listed in po/POTFILES.in,
and every listed file exists: a string outside POTFILES never reaches the
translators."""
import os
import re
import sys

C_MARK = re.compile(r'\b(?:_|N_|C_|NC_|Q_|g_dgettext|g_dngettext|ngettext)\s*\(\s*"')
UI_MARK = re.compile(r'translatable\s*=\s*"(?:yes|true)"')
# Files whose every string is translatable once merged by i18n.merge_file.
ALWAYS = ('.desktop.in', '.metainfo.xml.in', '.appdata.xml.in', '.gschema.xml')


def needs_translation(path):
    if path.endswith(ALWAYS):
        return True
    if path.endswith(('.c', '.h', '.ui')):
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        return bool((UI_MARK if path.endswith('.ui') else C_MARK).search(text))
    return False


def main(root):
    with open(os.path.join(root, 'po', 'POTFILES.in'), encoding='utf-8') as f:
        listed = {line.strip() for line in f if line.strip() and not line.startswith('#')}
    found = set()
    for top in ('src', 'data'):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                path = os.path.join(dirpath, name)
                if needs_translation(path):
                    found.add(os.path.relpath(path, root))
    problems = [f'{p}: has translatable strings but is not in po/POTFILES.in' for p in sorted(found - listed)]
    problems += [f'{p}: listed in po/POTFILES.in but does not exist'
                 for p in sorted(listed) if not os.path.isfile(os.path.join(root, p))]
    for p in problems:
        print(p)
    print(f'{len(found)} files with translatable strings, {len(listed)} listed, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
