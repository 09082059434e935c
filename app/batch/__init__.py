"""How a batch runs: recipes (load, validate, version, approve), the ISA-88 engine, the
phase library and alarms. Plain Python: no Qt widgets in here."""
