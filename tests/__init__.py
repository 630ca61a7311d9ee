"""Tests of kubeplay."""
