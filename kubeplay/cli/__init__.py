"""The command line: argument parsing (main), the commands, and everything shown to a person (render, views).

The only package that imports rich.
"""

from kubeplay.cli.main import main

__all__ = ["main"]
