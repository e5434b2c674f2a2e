"""Shared fixtures: the project root on sys.path is given by the package install."""
