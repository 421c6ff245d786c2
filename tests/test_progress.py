"""ui.progress.one_torch_thread: torch's (process-wide) thread count is 1 while any session's block runs, and the
count found before the first block is back after the last, however the blocks of two sessions interleave."""

import threading

import torch

from ui.progress import one_torch_thread


def test_overlapping_blocks_keep_one_thread_until_the_last_ends_then_restore():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
        seen = []

        def session_a():
            with one_torch_thread():
                a_in.set()
                b_in.wait(5)
                seen.append(torch.get_num_threads())
            a_out.set()

        def session_b():  # enters after a, leaves after a
            a_in.wait(5)
            with one_torch_thread():
                b_in.set()
                a_out.wait(5)
                seen.append(torch.get_num_threads())  # a has left: still one thread while b runs

        threads = [threading.Thread(target=f) for f in (session_a, session_b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert seen == [1, 1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_an_exception_inside_still_restores():
    before = torch.get_num_threads()
    try:
        with one_torch_thread():
            raise ValueError("boom")
    except ValueError:
        pass
    assert torch.get_num_threads() == before
