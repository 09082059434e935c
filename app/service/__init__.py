"""Service work on the instrument: calibration math and the self-test. Plain Python, no
Qt and no SQL, so the service screen and the headless service CLI share one logic."""
