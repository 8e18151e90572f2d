"""Pass/fail bookkeeping for our qtest scripts: one line per check."""

passed = failed = 0


def check(name, ok, detail=''):
    """Prints 'ok' or 'FAIL' with @name (and @detail) and counts it."""
    global passed, failed
    print('%s %s%s' % ('ok  ' if ok else 'FAIL', name,
                       (': ' + detail) if detail else ''), flush=True)
    passed += bool(ok)
    failed += not ok


def summary(suite):
    """Prints the counts; the exit status for the script."""
    print('%s: %d passed, %d failed' % (suite, passed, failed))
    return 1 if failed else 0
