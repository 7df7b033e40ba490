"""``flask optiserve sync …``: the on-prem side's client of OptiServe's System APIs.

The group only; each direction is its own module (:mod:`app.sync_client.pull`,
:mod:`app.sync_client.push`),
added to the group in :mod:`app.cli`.
"""
from flask.cli import AppGroup

sync_cli = AppGroup("sync", help="Synchronize this (on-prem) instance with OptiServe over its System APIs.")
