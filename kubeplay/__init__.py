"""kubeplay: the 2014 Kubernetes model as a declarative reconciliation tool run from a workstation over SSH."""

__version__ = "0.1.0"
