"""Commands that switch power or change money: validated, authorised, executed at most once.

docs/mqtt.md. The guard is pure (time is passed in); the service executes an accepted command
over the optical port and confirms it by reading the state back.
"""
