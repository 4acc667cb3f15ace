"""Password hashing, secrets and rate limits: the security primitives behind the identity ports."""
