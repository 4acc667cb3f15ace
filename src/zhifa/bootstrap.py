"""The one place where settings become a wired application."""
