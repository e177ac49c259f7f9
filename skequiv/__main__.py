"""``python -m skequiv`` runs the command line."""

import sys

from skequiv._cli import main

sys.exit(main())
