"""The local lab cluster: minions as network namespaces with their own sshd and dockerd, on one machine."""
