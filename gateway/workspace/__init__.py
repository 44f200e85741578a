"""Workspaces: the folder `ltcgw init` writes (layout.py), the simulated city systems (city_system.py) and the
demo that drives the real daemon with them (demo.py). Used by the CLI, the tests and the benchmark."""
