"""A trainer as a Ray actor, for a room too large for one machine (PLAYGROUND_RAY_ADDRESS, core.train.pool).

The actor holds a core.train.host.Host like a local trainer process: a thread of its own trains the runs in turns,
and the page's requests (Ray method calls, answered on the actor's other threads) take the host's lock between two
chunks. The run's folder is a path on the actor's machine: on a cluster, a run whose actor dies goes on from its
last save only when the new actor shares that file system (a local Ray instance does).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from core.train.host import Host
from core.train.pool import ANSWER_TIMEOUT, IDLE_TIMEOUT, PARK_AFTER, TrainerGone


class TrainerActor:
    """The Host behind a lock, trained by a thread of its own."""

    def __init__(self, memory_budget: int, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.host = Host(IDLE_TIMEOUT, PARK_AFTER, memory_budget)
        self.lock = threading.Lock()
        threading.Thread(target=self._loop, name="trainer-turns", daemon=True).start()

    def handle(self, key: str, command: str, argument=None):
        with self.lock:
            return self.host.handle(key, command, argument)

    def pid(self) -> int:
        import os

        return os.getpid()

    def _loop(self) -> None:
        while True:
            with self.lock:
                trained = self.host.turn()
            if not trained:
                time.sleep(0.02)


def _connect(address: str) -> None:
    """Join the cluster at `address`, or start a local instance ("local"), shipping the core package."""
    import ray

    if ray.is_initialized():
        return
    ray.init(address=None if address == "local" else address, log_to_driver=False, include_dashboard=False,
             ignore_reinit_error=True, runtime_env={"py_modules": [str(Path(__file__).resolve().parents[1])]})


class RayTrainer:
    """The pool's handle on one actor: the same call() as a local trainer."""

    def __init__(self, address: str, memory_budget: int, threads: int):
        import ray

        _connect(address)
        remote = ray.remote(num_cpus=threads, max_concurrency=8)(TrainerActor)
        self.actor = remote.remote(memory_budget, threads)
        self.alive, self.clean = True, False

    @property
    def pid(self) -> int:
        import ray

        return ray.get(self.actor.pid.remote())

    def call(self, key: str, command: str, argument=None, timeout: float = ANSWER_TIMEOUT):
        import ray

        try:
            return ray.get(self.actor.handle.remote(key, command, argument), timeout=timeout)
        except ray.exceptions.GetTimeoutError:
            raise ValueError(f"The trainer did not answer within {timeout:.0f} s: this cluster is overloaded. "
                             "Try again in a minute.") from None
        except ray.exceptions.RayActorError:
            self.alive = False
            raise TrainerGone(False) from None

    def close(self) -> None:
        import ray

        self.alive = False
        ray.kill(self.actor)
