"""The node side, over a minion's connection: observe its Docker, probe pods, carry out actions."""
