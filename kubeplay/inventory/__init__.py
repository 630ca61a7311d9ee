"""The Ansible inventory (INI or YAML, group_vars, host_vars, --limit) read into kubeplay's Inventory."""

from kubeplay.inventory.load import load_inventory

__all__ = ["load_inventory"]
