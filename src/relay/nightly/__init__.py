"""The nightly planning job: rolling-horizon re-planning, safe to run unattended.

``relay nightly CONFIG --archive PATH`` plans the scenario from the start of
the next planning day and stores the run in the archive (:mod:`relay.archive`);
``relay history``, ``relay show`` and ``relay diff`` read it; ``relay ack`` and
``relay promote`` change it.  See ``docs/nightly.md``.

The package, one job per module (import each name from its module):

``options``  the merge of the ``nightly:`` section of a scenario (its schema,
             :class:`relay.config_nightly.NightlyOptions`) with the command line
             (:func:`~relay.nightly.options.resolve`)
``drop``     the drop folder: regular files only, orbit files chosen per orbiter,
             bookings and backlogs read by :mod:`relay.inputs`
``horizon``  the run's span, and the outages, vetoes and requests (the scenario's
             and the drop folder's) that bear on it, the others left out with a note
``base``     the base plan: frozen and previous sessions, the backlogs carried
             over, the span both plans cover
``safety``   the lock, the JSON log, fsynced writes, the ``current`` link, the
             output directory's owner and the repair of interrupted runs
``job``      one run, from its inputs to the archived, current plan; exit codes
``diff``     two archived runs compared over their common span (the rules are
             :mod:`relay.plandiff`'s)
``alerts``   the degraded reasons' keys, acknowledgements of known problems, alert hooks
``history``  ``relay history`` (80 columns) and ``relay show RUN``
"""
