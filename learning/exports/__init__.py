"""Large files prepared in the background: a city's Excel files take longer than a request may wait,
so they are requested, built by the scheduler process with their progress written as they go, and
downloaded when ready by whoever asked for them.

Features register what they export (``services.register``); this package imports none of them.
"""
