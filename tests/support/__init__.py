"""One way to run each real thing, for tests and benchmarks alike: the server, PulseAudio, a port.

The fixtures in tests/conftest.py and tests/engine/conftest.py wrap these;
the scripts in bench/ import them (with the repository root on sys.path).
"""
