"""Composition of the window app: the main window, the page builders that wire each
perspective to its back ends, the Qt start-up probe, the self-test and the soak driver."""
