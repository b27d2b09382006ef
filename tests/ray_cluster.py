"""A real multi-node Ray cluster on this machine for tests: `ray start` per node, token auth on.

Each cluster gets its own temp dir, a block of free ports and its own auth token; every process
it started is stopped by PID (the `ray start` process groups, the raylets' workers, and anything
else whose command line names the temp dir), so tests never touch another Ray on the machine.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))


def _free_block(size: int, tries: int = 50) -> int:
    """A base port such that base .. base+size-1 can all be bound on 127.0.0.1 right now."""
    for _ in range(tries):
        base = random.randrange(20000, 60000 - size)
        socks = []
        try:
            for port in range(base, base + size):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free block of ports found")


@dataclass
class Node:
    """One `ray start` of the cluster."""

    pgid: int
    node_manager_port: int

    def raylet_pid(self) -> int | None:
        out = subprocess.run(["pgrep", "-f", f"node_manager_port={self.node_manager_port}"], capture_output=True, text=True).stdout.split()
        return int(out[0]) if out else None

    def worker_pids(self) -> list[int]:
        """Pids of the task and actor processes this node's raylet runs."""
        raylet = self.raylet_pid()
        if raylet is None:
            return []
        return [int(p) for p in subprocess.run(["pgrep", "-P", str(raylet)], capture_output=True, text=True).stdout.split()]

    def running_trial(self) -> bool:
        raylet = self.raylet_pid()
        if raylet is None:
            return False
        out = subprocess.run(["pgrep", "-P", str(raylet), "-f", "ImplicitFunc"], capture_output=True, text=True).stdout
        return bool(out.strip())

    def kill(self) -> None:
        """Stop the node abruptly (SIGKILL to its processes), as a lost machine would."""
        victims = self.worker_pids()
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class LocalCluster:
    """A head and `workers` worker nodes started with `ray start`, each with `cpus_per_node` CPUs."""

    def __init__(self, workers: int = 1, cpus_per_node: int = 1, env: dict[str, str] | None = None) -> None:
        self.temp_dir = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # socket paths must stay short
        self.base = _free_block(100 * (workers + 1) + 100)
        self.port = self.base
        self.env = dict(
            os.environ,
            RAY_USAGE_STATS_ENABLED="0",
            RAY_AUTH_MODE="token",
            RAY_AUTH_TOKEN=secrets.token_hex(16),
            # A lost node is declared dead after 3 failed health checks 1 s apart (Ray's default: 5
            # checks 3 s apart, ~15 s), so a test of a lost node waits seconds, not a quarter minute.
            RAY_health_check_period_ms="1000",
            RAY_health_check_timeout_ms="3000",
            RAY_health_check_failure_threshold="3",
            **(env or {}),
        )
        self.nodes: list[Node] = []
        self.workers, self.cpus = workers, cpus_per_node

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _start(self, index: int) -> Node:
        first = self.base + 100 * (index + 1)
        ports = {
            "--node-manager-port": first,
            "--object-manager-port": first + 1,
            "--dashboard-agent-listen-port": first + 2,
            "--dashboard-agent-grpc-port": first + 3,
            "--runtime-env-agent-port": first + 4,
            "--metrics-export-port": first + 5,
            "--min-worker-port": first + 10,
            "--max-worker-port": first + 99,
        }
        args = [RAY, "start", f"--num-cpus={self.cpus}", f"--temp-dir={self.temp_dir}", "--disable-usage-stats"]
        if index == 0:
            args += ["--head", f"--port={self.port}", "--include-dashboard=false", f"--dashboard-port={self.base + 1}"]
        else:
            args += [f"--address={self.address}"]
        args += [f"{k}={v}" for k, v in ports.items()]
        proc = subprocess.Popen(args, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start failed:\n{out[-3000:]}")
        return Node(pgid=proc.pid, node_manager_port=first)

    def __enter__(self) -> "LocalCluster":
        try:
            for i in range(self.workers + 1):
                self.nodes.append(self._start(i))
            self.wait_for_nodes(self.workers + 1)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def alive_nodes(self) -> int:
        code = "import ray; ray.init(address='%s', log_to_driver=False); print(sum(n['Alive'] for n in ray.nodes()))" % self.address
        out = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True, timeout=120)
        return int(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 and out.stdout.strip() else 0

    def wait_for_nodes(self, count: int, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.alive_nodes() >= count:
                return
            time.sleep(1)
        raise RuntimeError(f"the cluster did not reach {count} nodes in {timeout} s")

    def stop(self) -> None:
        """Stop every process of this cluster by PID, then remove its temp dir."""
        for node in self.nodes:
            node.kill()
        stop_ray_processes_of(self.temp_dir)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def stop_ray_processes_of(temp_dir: str) -> None:
    """Kill what a Ray session in `temp_dir` left running (found by PID via its command lines)."""
    out = subprocess.run(["pgrep", "-f", temp_dir], capture_output=True, text=True).stdout.split()
    for pid in map(int, out):
        if pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def kill_9_after_rows(command: list[str], csv_path, rows: int, ray_dir: str, timeout_s: float = 300) -> str:
    """Run `python -m nas <command>` and kill -9 it once `csv_path` holds more than `rows` rows (or
    after `timeout_s`), then stop the Ray processes it started in `ray_dir`."""
    import os
    import signal
    import subprocess
    import time

    env = dict(os.environ, PYTHONPATH=os.getcwd())
    err = Path(ray_dir) / "command.err"  # what the command printed, for a test that finds no rows
    with open(err, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "nas", *command], env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.time() + timeout_s
    while time.time() < deadline and proc.poll() is None and not (csv_path.exists() and len(csv_path.read_text().splitlines()) > rows):
        time.sleep(0.2)
    if proc.poll() is None:  # still running: the kill the test is about; else it ended by itself (its output says why)
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    text = err.read_text(errors="replace")
    stop_ray_processes_of(ray_dir)
    return text

