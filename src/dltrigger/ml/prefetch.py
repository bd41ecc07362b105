"""Items made ahead in a background thread: the loader thread of a training's batches."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Generator, Iterator
from queue import Empty, Queue
from typing import TypeVar

T = TypeVar("T")


#: The name of the loader threads (tests check none outlives its training).
PREFETCH_THREAD = "dltrigger-prefetch"


class Prefetched(Iterator[T]):
    """Items (batches, decoded row groups) produced by a background thread from the moment
    this is made (Parquet decoding and numpy release the GIL), so a shuffle pool can fill
    while the caller does other work; [`close`][] (or the end of the items, or dropping this
    object) stops the thread."""

    def __init__(self, items: Iterator[T], depth: int = 2):
        self._queue: Queue = Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = object()
        self._finished = False
        # the thread holds the queue, not this object: dropping it closes it (__del__)
        thread = threading.Thread(
            target=_produce,
            args=(items, self._queue, self._stop, self._done),
            name=PREFETCH_THREAD,
            daemon=True,
        )
        thread.start()

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        item = self._queue.get()
        if isinstance(item, BaseException):
            self.close()
            raise item
        if item is self._done:
            self.close()
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop producing. After the stop flag, the producer puts at most one more item into the
        emptied queue (the one it may be blocked on) and returns, so this never waits on it."""
        self._finished = True
        self._stop.set()
        with contextlib.suppress(Empty):
            while True:
                self._queue.get_nowait()

    def __del__(self) -> None:
        self.close()


def _produce(items: Iterator, queue: Queue, stop: threading.Event, done: object) -> None:
    try:
        for item in items:
            if stop.is_set():
                if isinstance(items, Generator):  # its own read-ahead thread stops too
                    items.close()
                return
            queue.put(item)
        last: object = done
    except BaseException as exc:  # re-raised in the consumer
        last = exc
    if not stop.is_set():
        queue.put(last)


def prefetch(items: Iterator[T], depth: int = 2) -> Prefetched[T]:
    """``items`` produced in a background thread, starting now (see [`Prefetched`][])."""
    return Prefetched(items, depth)
