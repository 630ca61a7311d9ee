"""`python -m kubeplay.cli`: the kubeplay command."""

from kubeplay.cli.main import entry_point

entry_point()
