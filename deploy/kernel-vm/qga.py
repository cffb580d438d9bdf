#!/usr/bin/env python3
"""The host's end of the kernel test VM's command channel: QEMU's guest agent (qemu-ga) over a unix socket.

    qga.py SOCKET ping [--wait SECONDS]            succeeds once the agent answers
    qga.py SOCKET exec [--timeout S] [--env K=V]... [--stdin] -- PROGRAM ARGS...
                                                   runs PROGRAM in the guest; prints its stdout and stderr and
                                                   exits with its exit code (128+N for signal N, 124 on timeout)

Every session starts with guest-sync-delimited and a fresh id, so a reply left over from a client that gave up
(a timeout) is never taken for ours. Arguments go as an array: nothing is parsed by a shell on either side.
"""
import argparse
import base64
import json
import os
import random
import socket
import sys
import time


class Agent:
    def __init__(self, path, timeout=30.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.sync()

    def close(self):
        self.sock.close()

    def _read_line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the guest agent closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def sync(self):
        token = random.randint(1, 2**31 - 1)
        # 0xFF resets the agent's JSON parser (a half-sent request of an earlier client); the reply to
        # guest-sync-delimited starts with 0xFF too, so everything before it is stale and dropped.
        self.sock.sendall(b"\xff" + json.dumps({"execute": "guest-sync-delimited", "arguments": {"id": token}}).encode() + b"\n")
        while True:
            line = self._read_line()
            if b"\xff" in line:
                line = line[line.rindex(b"\xff") + 1:]
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            if reply.get("return") == token:
                return

    def call(self, command, arguments=None):
        request = {"execute": command}
        if arguments is not None:
            request["arguments"] = arguments
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            line = self._read_line().lstrip(b"\xff")
            if not line.strip():
                continue
            reply = json.loads(line)
            if "error" in reply:
                raise RuntimeError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            if "return" in reply:
                return reply["return"]


def ping(args):
    deadline = time.monotonic() + args.wait
    while True:
        try:
            agent = Agent(args.socket, timeout=5)
            agent.call("guest-ping")
            agent.close()
            return 0
        except (OSError, ConnectionError, RuntimeError, ValueError) as e:
            if time.monotonic() >= deadline:
                print(f"qga: no answer from the guest agent on {args.socket}: {e}", file=sys.stderr)
                return 1
            time.sleep(1)


def execute(args):
    if not args.argv:
        print("qga: exec needs a program", file=sys.stderr)
        return 2
    argv = args.argv[1:] if args.argv[0] == "--" else args.argv
    request = {"path": argv[0], "arg": argv[1:], "capture-output": True}
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LC_ALL=C"] + list(args.env or [])
    request["env"] = env
    if args.stdin:
        request["input-data"] = base64.b64encode(sys.stdin.buffer.read()).decode()
    agent = Agent(args.socket)
    pid = agent.call("guest-exec", request)["pid"]
    deadline = time.monotonic() + args.timeout
    delay = 0.02
    while True:
        status = agent.call("guest-exec-status", {"pid": pid})
        if status.get("exited"):
            break
        if time.monotonic() >= deadline:
            # The agent cannot signal a process itself: a second guest-exec does.
            agent.call("guest-exec", {"path": "/bin/kill", "arg": ["-KILL", str(pid)]})
            print(f"qga: {' '.join(argv)} ran past {args.timeout:g} s in the guest and was killed", file=sys.stderr)
            return 124
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    agent.close()
    sys.stdout.buffer.write(base64.b64decode(status.get("out-data", "")))
    sys.stderr.buffer.write(base64.b64decode(status.get("err-data", "")))
    sys.stdout.flush()
    if status.get("out-truncated") or status.get("err-truncated"):
        print("qga: the guest agent truncated the output", file=sys.stderr)
    if "signal" in status and status.get("signal"):
        return 128 + status["signal"]
    return status.get("exitcode", 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("socket")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ping")
    p.add_argument("--wait", type=float, default=0)
    p.set_defaults(func=ping)
    e = sub.add_parser("exec")
    e.add_argument("--timeout", type=float, default=600)
    e.add_argument("--env", action="append", help="NAME=VALUE for the guest process")
    e.add_argument("--stdin", action="store_true", help="send this process's stdin to the guest process")
    e.add_argument("argv", nargs=argparse.REMAINDER)
    e.set_defaults(func=execute)
    args = parser.parse_args()
    try:
        return args.func(args)
    except (OSError, ConnectionError, RuntimeError) as err:
        print(f"qga: {err}", file=sys.stderr)
        return 125


if __name__ == "__main__":
    sys.exit(main())
