#!/usr/bin/env python3
"""Minimal QMP client: qmp.py SOCKET COMMAND... ; prints each reply as JSON.
A COMMAND may carry its arguments as JSON after a space:
  qmp.py SOCK 'migrate {"uri": "unix:/tmp/m"}' query-migrate"""
import json
import socket
import sys


def main():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(sys.argv[1])
    stream = sock.makefile('rw')
    json.loads(stream.readline())                       # greeting
    for cmd in ['qmp_capabilities'] + sys.argv[2:]:
        name, _, args = cmd.partition(' ')
        msg = {'execute': name}
        if args:
            msg['arguments'] = json.loads(args)
        stream.write(json.dumps(msg) + '\n')
        stream.flush()
        while True:
            reply = json.loads(stream.readline() or '{}')
            if 'event' not in reply:
                break
        if cmd != 'qmp_capabilities':
            print(json.dumps(reply.get('return', reply)))


if __name__ == '__main__':
    main()
