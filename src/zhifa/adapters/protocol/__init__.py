"""Wire protocols the platform speaks with vehicles and partner systems: pure codecs, no I/O."""
