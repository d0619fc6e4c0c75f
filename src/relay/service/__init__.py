"""``relay serve``: the shared relay database and its JSON API (a Django project and app in one package).

Modules: ``settings`` (Django settings built from the command's options: data folder,
database URL, secret key), ``models`` (the records), ``migrations/`` (the schema's history),
``permissions`` (one table of who may do what, per record), ``records`` (creating and editing
records with their checks, optimistic locking and audit), ``engine`` (the calls into the
planner: plain data in, plain data out, no Django), ``runs`` (planning runs queued off the
request path, on Dask or a thread pool), ``plans`` (plan versions: storing a run's result,
diffs with causes, publication, files), ``notify`` (in-app notifications), ``csvexport``
(formula-safe CSV), ``schemas`` (the API's typed bodies), ``apiutil`` (what every route
shares: authentication, the permission guard, filters), ``routes_accounts``,
``routes_records`` and ``routes_plans`` (the ninja routers), ``api`` (the API and its error
answers), ``views`` (the log-in page), ``urls``, ``apps``, ``admin``, ``demo`` (``relay serve
--demo``'s seed) and ``server`` (the WSGI server).  The engine never imports this package.
"""
