"""The bundle's entry point (packaging/celldeck.spec): ``celldeck`` as installed.

``celldeck simulator ...`` goes straight to the simulator without loading Qt or the
console (the demo starts it as a child process: a quick start matters there); anything
else is ``app.__main__``.
"""

import sys


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["simulator"]:
        from hardware.simulator.__main__ import main as simulator_main

        return simulator_main(argv[1:])
    from app.__main__ import main as console_main

    return console_main(argv)


if __name__ == "__main__":
    sys.exit(main())
