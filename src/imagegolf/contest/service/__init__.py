"""The contest as a service: the one way each front end opens a contest and starts its parts.

The CLI parses its flags into the typed options here and calls these; the web server gets what it
serves from here (:func:`hosting`, :func:`hosted`). Nothing here names a command-line flag.

- opening: where a contest is (:class:`ContestAt`), the database and the contest
  (:func:`opened`), the registry client its judge reads with (:func:`registry_for`), a stop
  event set on SIGTERM (:func:`stoppable`).
- setup: create a contest (:func:`create`), rebuild its standings (:func:`reindex`).
- judging: an engine and a registry client opened once (:func:`judging`), polling, judge
  workers and the notification sender until stopped; workers alone (:func:`work`); re-judging
  (:func:`rejudge`).
- notifying: outgoing notifications, once or in a thread (:func:`send`, :func:`sending`).
- serving: what a web site of the contest is made of (:class:`WebOptions`, :class:`Hosted`).
- hosting: the registry imagegolf runs for a contest (:func:`host_registry`).
"""

from imagegolf.contest.service.hosting import RegistryHostOptions, host_registry, parse_address
from imagegolf.contest.service.judging import (
    Judging,
    Listeners,
    Rejudged,
    WatchOptions,
    WorkOptions,
    judging,
    rejudge,
    work,
)
from imagegolf.contest.service.notifying import SendOptions, send, send_due, sending, start_sending
from imagegolf.contest.service.opening import (
    ContestAt,
    database_missing,
    opened,
    opened_database,
    registry_factory,
    registry_for,
    stoppable,
)
from imagegolf.contest.service.serving import (
    SHORT_TOKEN,
    Hosted,
    WebOptions,
    check_hook_trust,
    hosted,
    hosting,
    short_tokens,
)
from imagegolf.contest.service.setup import ContestSpec, JudgingLimits, Rebuilt, create, reindex
from imagegolf.db import Database  # the handle :func:`opened` gives, for the front ends' type hints

__all__ = [
    "SHORT_TOKEN",
    "ContestAt",
    "ContestSpec",
    "Database",
    "Hosted",
    "Judging",
    "JudgingLimits",
    "Listeners",
    "Rebuilt",
    "RegistryHostOptions",
    "Rejudged",
    "SendOptions",
    "WatchOptions",
    "WebOptions",
    "WorkOptions",
    "check_hook_trust",
    "create",
    "database_missing",
    "host_registry",
    "hosted",
    "hosting",
    "judging",
    "opened",
    "opened_database",
    "parse_address",
    "registry_factory",
    "registry_for",
    "reindex",
    "rejudge",
    "send",
    "send_due",
    "sending",
    "short_tokens",
    "start_sending",
    "stoppable",
    "work",
]
