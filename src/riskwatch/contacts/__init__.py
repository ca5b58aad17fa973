"""The contact ledger: the managers' calls, checked, recorded and linked to the call list."""
