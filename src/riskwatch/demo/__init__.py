"""The demo: a synthetic portfolio, its workspace, and the replay of its monthly drops."""
