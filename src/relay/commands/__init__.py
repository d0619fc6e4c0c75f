"""Subcommands of the ``relay`` command line.

Each module here exposes ``register(subparsers)`` which adds its subcommand
and sets ``func`` (called with the parsed ``argparse.Namespace``; returns the
exit status).  ``relay.cli`` imports only these light modules; heavy imports
(skyfield, ortools, pandas) happen inside the ``func`` bodies so that
``relay --help`` starts fast.
"""

COMMAND_MODULES = [
    "relay.commands.passes",   # relay passes, relay tracks (issue 2)
    "relay.commands.link",     # relay link (issue 3)
    "relay.commands.plan",     # relay plan, relay solve, relay validate (issue 4)
    "relay.commands.analysis", # relay compare, relay sweep (issue 5)
    "relay.commands.nightly",  # relay nightly, relay history, relay diff (issue 6)
]
