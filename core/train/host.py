"""A trainer: many live runs in one process, trained in turns of short chunks.

The page's runs (core.train.live) send it commands through core.train.pool; each names its run by the run's folder,
where the trainer keeps the run's last good state (core.train.state). So any trainer can take over any run: one
that was dropped from memory (parked) or whose trainer died goes on from its folder, wherever it is asked for next.

Which run trains next (Host.pick): a run that has had less than FIRST_SLICE seconds since its start first, so every
press shows a first chart at once; then any run that has waited STARVE_AFTER seconds, for a short slice, so every
run keeps moving; otherwise the run with the least training left (shortest remaining time first: the order that
finishes a room's runs soonest on average). A training run is saved every CHECKPOINT_EVERY seconds and whenever it
stops, so a killed trainer loses at most those seconds of it. A run nobody asked about for idle_timeout seconds
pauses (a closed tab); one idle for park_after seconds, or the longest-idle one when the memory budget is full,
is saved and dropped from memory.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from core.model.config import TrainConfig
from core.train import state
from core.train.run import Run
from core.train.worker import RunWorker, Status, _copy

CHUNK = 0.05  # seconds: a trainer answers requests at least this often
FIRST_SLICE = 0.05  # seconds of training a run gets first after its start: its first chart
STARVE_AFTER, STARVE_SLICE = 2.0, 0.02  # a run that waited this long gets a slice of this length next
CHECKPOINT_EVERY = 5.0  # seconds of a run's training between two saves
LINGER = 30.0  # seconds a trainer without runs in memory stays before it exits (processes only while training)
REQUESTS_PER_TURN = 32  # requests answered between two chunks at the most
BUSY = "busy"  # the answer's kind when the memory budget has no room for another run


class Host:
    """The runs of one trainer process, by key (the run's folder). Single-threaded: the caller serialises."""

    def __init__(self, idle_timeout: float, park_after: float, memory_budget: int, linger: float = LINGER):
        self.idle_timeout, self.park_after, self.memory_budget = idle_timeout, park_after, memory_budget
        self.linger = linger
        self.workers: dict[str, RunWorker] = {}
        self.seen: dict[str, float] = {}  # key -> last request
        self.idle_since: dict[str, float] = {}  # key -> when it last stopped training
        self.saved_at: dict[str, float] = {}  # key -> its `served` seconds at its last save
        self.parked: dict[str, Status] = {}  # saved and dropped from memory
        self.cpu_share = 1.0
        self.empty_since = time.monotonic()

    # ---- commands -------------------------------------------------------------------------------------------------
    def handle(self, key: str, command: str, argument=None) -> tuple[str, Status | None, object]:
        """(kind, status, payload): kind 'ok', 'error' (payload: one sentence) or BUSY."""
        now = time.monotonic()
        self.seen[key] = now
        try:
            if command == "open":
                return self._open(key, argument)
            if command == "close":
                self.forget(key)
                return "ok", None, None
            if key not in self.workers:
                if command == "ping" and key in self.parked:
                    return "ok", self.parked[key], None
                loaded = self._load(key)
                if loaded is not None:
                    return loaded
            worker = self.workers[key]
            was_training = worker.training
            kind, payload = worker.handle(command, argument)
            worker.cpu_share = self.cpu_share
            if not worker.training and (was_training or command in ("step", "hot")):
                self._stopped(key)
            return kind, worker.status(), payload
        except state.Damaged as exc:
            return "error", Status(0, 0, "failed", False, str(exc)), str(exc)

    def _open(self, key: str, config: TrainConfig):
        """A new run at step 0, saved at once (its first good state); answers theta_init."""
        if key not in self.workers:
            if not self._room(exclude=key):
                return BUSY, None, self._full()
            try:
                run = Run(config)
            except ValueError as exc:  # e.g. Newton on a model too large for its exact Hessian
                return "error", Status(0, config.steps, "failed", False, str(exc)), str(exc)
            state.save(run, Path(key))
            self._add(key, RunWorker(run))
        worker = self.workers[key]
        return "ok", worker.status(), _copy(worker.run.theta_init)

    def _load(self, key: str):
        """Bring a run back from its folder (parked here, or another trainer's); None when loaded, else the answer."""
        if not state.exists(Path(key)):
            message = "This run's files are gone (the server restarted?); press Reset to start again."
            return "error", Status(0, 0, "failed", False, message), message
        if not self._room(exclude=key):
            return BUSY, self.parked.get(key), self._full()
        self.parked.pop(key, None)
        self._add(key, RunWorker(state.load(Path(key))))
        return None

    def _add(self, key: str, worker: RunWorker) -> None:
        worker.cpu_share = self.cpu_share
        self.workers[key] = worker
        self.idle_since[key] = time.monotonic()
        self.saved_at[key] = 0.0

    def _full(self) -> str:
        return ("This server's trainers are full: every run they hold is training. This run starts as soon as one "
                "of them finishes or pauses.")

    def _room(self, exclude: str) -> bool:
        """Whether one more run fits the memory budget, parking the longest-idle runs to make it fit."""
        need = 2**21
        while sum(w.footprint() for w in self.workers.values()) + need > self.memory_budget:
            idle = [k for k, w in self.workers.items() if not w.training and k != exclude]
            if not idle:
                return False
            self.park(min(idle, key=lambda k: self.idle_since.get(k, 0.0)))
        return True

    # ---- saving -----------------------------------------------------------------------------------------------
    def save(self, key: str) -> None:
        """Save the run into its folder; a run whose folder is gone (its owner closed it) is forgotten instead."""
        if not Path(key).is_dir():
            self.forget(key)
            return
        worker = self.workers[key]
        state.save(worker.run, Path(key))
        self.saved_at[key] = worker.served

    def forget(self, key: str) -> None:
        self.workers.pop(key, None)
        self.parked.pop(key, None)
        for table in (self.seen, self.idle_since, self.saved_at):
            table.pop(key, None)

    def _stopped(self, key: str) -> None:
        """A run stopped training (or took a step, or changed): save it, and count its idle time from now."""
        self.idle_since[key] = time.monotonic()
        self.save(key)

    def park(self, key: str) -> None:
        """Save the run and drop it from memory; the next command for it loads it again."""
        self.save(key)
        worker = self.workers.pop(key, None)
        if worker is not None:
            self.parked[key] = worker.status()

    # ---- the training loop's turns ----------------------------------------------------------------------------
    def pick(self, now: float) -> tuple[str, float] | None:
        """(key, seconds) of the run to train next, or None when none trains."""
        training = [(k, w) for k, w in self.workers.items() if w.training]
        if not training:
            return None
        fresh = [(w.served_at, k) for k, w in training if w.served < FIRST_SLICE]
        if fresh:
            key = min(fresh)[1]
            return key, FIRST_SLICE - self.workers[key].served
        starving = [(w.served_at, k) for k, w in training if now - w.served_at > STARVE_AFTER]
        if starving:
            return min(starving)[1], STARVE_SLICE
        return min(training, key=lambda kw: (kw[1].remaining(), kw[1].served_at))[0], CHUNK

    def turn(self) -> bool:
        """Housekeeping, then one chunk of the next run; False when nothing trains."""
        now = time.monotonic()
        self.housekeeping(now)
        picked = self.pick(now)
        if picked is None:
            return False
        key, seconds = picked
        worker = self.workers[key]
        cpu = time.thread_time()
        wall = worker.train_chunk(seconds)
        if wall > 0:  # moving average over about ten chunks
            self.cpu_share += 0.1 * (min((time.thread_time() - cpu) / wall, 1.0) - self.cpu_share)
        if not worker.training:
            self._stopped(key)
        elif worker.served - self.saved_at.get(key, 0.0) >= CHECKPOINT_EVERY:
            self.save(key)
        return True

    def housekeeping(self, now: float) -> None:
        """Pause the runs nobody asks about, park the long-idle ones."""
        for key, worker in list(self.workers.items()):
            if worker.training and now - self.seen.get(key, now) > self.idle_timeout:
                worker.stop("Paused because no page has shown this run for a while (closed tab?).")
                self._stopped(key)
            elif not worker.training and now - self.idle_since.get(key, now) > self.park_after:
                self.park(key)
        if self.workers:
            self.empty_since = now

    def done(self, now: float) -> bool:
        """Whether this trainer has held no run in memory for `linger` seconds: its process may go."""
        return not self.workers and now - self.empty_since > self.linger

    def wait(self, now: float) -> float:
        """Seconds the loop may sleep for requests when nothing trains: until the next park is due (at most 1 s)."""
        due = [self.idle_since.get(k, now) + self.park_after - now for k in self.workers]
        return max(0.0, min([1.0, *due]))


def serve(conn, idle_timeout: float, park_after: float, memory_budget: int, threads: int,
          linger: float = LINGER) -> None:
    """The trainer process's loop: answer every request that is waiting, then train one chunk; sleep for requests
    when nothing trains. Requests come as (id, key, command, argument) and are answered as (id, answer). Exits when
    the page's process goes, or after `linger` seconds without runs (saying 'bye' first, so that the page knows)."""
    torch.set_num_threads(threads)
    host = Host(idle_timeout, park_after, memory_budget, linger)
    while True:
        now = time.monotonic()
        wait = 0.0 if any(w.training for w in host.workers.values()) else host.wait(now)
        try:
            for _ in range(REQUESTS_PER_TURN):  # then a chunk: a stream of requests never stops the training
                if not conn.poll(wait):
                    break
                request_id, key, command, argument = conn.recv()
                conn.send((request_id, host.handle(key, command, argument)))
                wait = 0.0
        except (EOFError, OSError):  # the page's process is gone
            return
        if not host.turn() and host.done(time.monotonic()):
            conn.send((None, "bye"))
            conn.close()
            return
