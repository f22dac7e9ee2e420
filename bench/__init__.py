"""Load benchmark of the production server: ``make bench`` (``python -m bench.run``).

It builds a throwaway SQLite instance, starts ``essc serve --production`` on loopback, drives it
with wrk (Lua scripts beside this file) and compares it with a Flask hello-world served the same
way. Nothing here is imported by the app; ``docs/benchmarks.md`` explains the figures.
"""
