"""``python -m kilowatt.simulator URL [options]``: see :func:`kilowatt.simulator.cli.simulate`."""

from kilowatt.simulator.cli import main

main()
