"""Emulated CEMS meters: pymodbus servers (SimDevice API) driven by a seeded load profile,
with run-time faults, a truth log per meter, RTU buses with a pacing relay, and the binding
of the same meter interface to physical meters."""
