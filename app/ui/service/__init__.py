"""Service mode screens: for the service role, with no run in progress."""
