"""Charge point simulator: many OCPP 1.6 / 2.0.1 / 2.1 stations in one process.

The model (status machines, configuration store, device model, meter, charging profiles,
reservations, offline queue, scenario) has no I/O; :mod:`kilowatt.simulator.station` drives it
over :mod:`kilowatt.transport`, and :class:`Simulation` runs a whole site.
"""
