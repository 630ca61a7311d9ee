"""A pod as Docker containers: create arguments, labels, spec hash, infra image, diff. Pure."""
