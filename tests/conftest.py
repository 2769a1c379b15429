"""Test-session settings.

One torch thread per test process (and per process a test starts: the variable is inherited). The
tests' tensors are small, so a second thread gains little, and with two OpenMP threads a suite on a
machine where another job holds a core stalls: each parallel region waits for the descheduled thread
(measured on 2 cores with a benchmark on the other one: 11 tests in 14 minutes; one thread: normal).
"""

import os

import torch

os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)
