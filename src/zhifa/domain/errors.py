"""The base of every error the domain raises: a rule of the trade was not met."""


class DomainError(ValueError):
    """A rule of the trade refused the request; the message names the rule."""
