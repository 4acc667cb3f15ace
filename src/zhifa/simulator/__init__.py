"""Simulated sensors and registers: the demo's traffic and the test bench's ground truth.

The simulator is a client of the platform, not a part of it: it only produces the records a
weighing site or a register export would send and hands them over the public interfaces. It
imports the domain for the rules of plates and limits, never services, adapters or entrypoints
(an import-linter contract keeps it so). Everything it makes is synthetic and seeded.
"""
