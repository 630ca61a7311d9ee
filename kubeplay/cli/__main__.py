"""`python -m kubeplay.cli`: the kubeplay command."""

import sys

from kubeplay.cli.main import main

sys.exit(main())
