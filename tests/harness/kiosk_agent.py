"""The kiosk agent (build/authd-kiosk) run by a test: its screen (stdout) read line by line
in a thread, waited on by pattern."""
import os
import re
import subprocess
import threading
import time

from itest import BUILD, stop_pid

AGENT = os.path.join(BUILD, "authd-kiosk")


class Agent:
    """authd-kiosk with its screen (stdout) read line by line in a thread."""

    def __init__(self, args, env=None):
        self.proc = subprocess.Popen([AGENT, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env)
        self.lines = []
        self.cv = threading.Condition()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()

    def wait_for(self, pattern, timeout=20):
        """The first line matching pattern (a regex), or None after timeout."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for line in self.lines:
                    m = rx.search(line)
                    if m:
                        return m
                left = end - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.t.is_alive()):
                    return None
                self.cv.wait(min(left, 0.2))

    def exit_code(self, timeout=20):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stop_pid(self.proc)
            return None
        self.t.join(5)
        return rc

    def screen(self):
        with self.cv:
            return "\n".join(self.lines)

    def stop(self):
        stop_pid(self.proc)
