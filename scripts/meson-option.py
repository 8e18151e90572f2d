#!/usr/bin/env python3
"""Prints meson build options of a configured QEMU build tree, joined by '/'
(e.g. prefix datadir qemu_suffix: QEMU's data directory).
Usage: scripts/meson-option.py OBJ OPTION..."""
import json
import sys

with open(sys.argv[1] + '/meson-info/intro-buildoptions.json') as f:
    opts = {o['name']: o['value'] for o in json.load(f)}
print('/'.join(str(opts[name]) for name in sys.argv[2:]))
