#!/usr/bin/env python3
"""msgfmt --check --statistics on every language in po/LINGUAS: a broken
catalogue, or one under 90 % translated, fails."""
import os
import re
import subprocess
import sys

MIN_RATIO = 0.90


def count(pattern, text):
    m = re.search(r'(\d+) ' + pattern, text)
    return int(m.group(1)) if m else 0


def main(msgfmt, po_dir):
    with open(os.path.join(po_dir, 'LINGUAS'), encoding='utf-8') as f:
        langs = [w for line in f for w in line.split('#')[0].split()]
    if not langs:
        print('po/LINGUAS names no language')
        return 1
    failed = 0
    for lang in langs:
        po = os.path.join(po_dir, lang + '.po')
        run = subprocess.run([msgfmt, '--check', '--statistics', '-o', os.devnull, po],
                             capture_output=True, text=True, env=dict(os.environ, LC_ALL='C'))
        stats = run.stderr.strip()
        translated = count('translated message', stats)
        total = translated + count('fuzzy translation', stats) + count('untranslated message', stats)
        ratio = translated / total if total else 0.0
        ok = run.returncode == 0 and ratio >= MIN_RATIO
        failed += not ok
        print(f'{lang}: {stats} ({ratio:.0%}) {"ok" if ok else "FAILED"}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
