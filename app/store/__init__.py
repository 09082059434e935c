"""The records database: schema and migrations, the single writer thread, the audit
trail, the historian, users and signatures. No Qt widgets in here."""
