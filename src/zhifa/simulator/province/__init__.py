"""The reference province for the simulator: real expressways, real boundaries, placed sites."""
