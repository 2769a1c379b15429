"""``python -m pinnfreq ...``, which is what ``torchrun -m pinnfreq ...`` runs on every rank."""

import sys

from .cli import main

sys.exit(main())
