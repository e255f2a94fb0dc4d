"""Points: the append-only ledger, rules with caps, periods, scores, rankings and snapshots.

Other features create points only through :func:`learning.points.services.award`;
this package imports none of them.
"""
