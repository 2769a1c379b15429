"""Data-parallel training with ``torch.distributed``, launched by ``torchrun``.

``torchrun --nproc_per_node 2 -m pinnfreq surrogate train ...`` (or ``... -m pinnfreq solve
problems/burgers1d.py``) starts one process per GPU (or per CPU share, gloo backend); each reads
WORLD_SIZE, RANK and LOCAL_RANK from its environment, trains a replica on its own share of the
batches (the PINN: of the collocation points), and the gradients are averaged so that every replica
stays identical. Only rank 0 writes files and shows progress. Without those variables everything runs
in one process, as usual.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    """Where this process stands: ``rank`` of ``world`` processes, on ``device``."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def from_main(self, value: float) -> float:
        """Rank 0's ``value`` on every rank. Whatever steers training (elapsed time for the time budget
        and the schedule) must be the same everywhere: ranks that stop early leave the others waiting
        for their gradients, and different learning rates let the replicas drift apart."""
        if not self.active:
            return value
        t = torch.tensor(float(value), dtype=torch.float64, device=self.device)
        dist.broadcast(t, 0)
        return t.item()

    def average_(self, tensors: list[torch.Tensor]) -> None:
        """Replace each tensor by its mean over the ranks, in place, with one all-reduce of their
        concatenation (DDP's gradient averaging in a single bucket)."""
        if not self.active or not tensors:
            return
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.all_reduce(flat)
        flat /= self.world
        for t, part in zip(tensors, flat.split([t.numel() for t in tensors])):
            t.copy_(part.view_as(t))

    def mean(self, value: float) -> float:
        """The mean of ``value`` over the ranks (every rank gets it)."""
        if not self.active:
            return value
        t = torch.tensor(float(value), dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.item() / self.world


def context(device: str = "auto") -> Context:
    """Join the process group torchrun describes (once per process), or run alone.

    ``device``: "auto" takes this rank's GPU (cuda:LOCAL_RANK) when CUDA is present, else the CPU; the
    backend is NCCL on GPUs and gloo on CPUs. An explicit "cuda:1" under torchrun is refused: each
    rank needs its own device.
    """
    if not launched():
        if device == "auto":
            return Context(0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu"))
        dev = torch.device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={device!r}, but this torch sees no CUDA device; use 'auto' or 'cpu'")
        return Context(0, 1, dev)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if device not in ("auto", "cuda", "cpu"):
        raise ValueError(f"device={device!r} under torchrun: give 'auto', 'cuda' or 'cpu'; each rank takes "
                         "cuda:LOCAL_RANK itself")
    if use_cuda:
        if local >= torch.cuda.device_count():
            raise RuntimeError(f"rank with LOCAL_RANK={local} has no GPU ({torch.cuda.device_count()} visible): "
                               "give torchrun --nproc_per_node at most the number of GPUs")
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Context(dist.get_rank(), dist.get_world_size(), torch.device(f"cuda:{local}" if use_cuda else "cpu"))


def launched() -> bool:
    """Whether this process is one of several started by torchrun."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main() -> bool:
    """Whether this process writes files and prints: rank 0, or the only process (torchrun's RANK
    before the process group is joined)."""
    return dist.get_rank() == 0 if dist.is_initialized() else int(os.environ.get("RANK", "0")) == 0


def finish() -> None:
    """Leave the process group, if this process joined one: a process that exits inside it can abort
    in the communication library's threads."""
    if dist.is_initialized():
        dist.destroy_process_group()
