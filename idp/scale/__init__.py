"""Scale of data (issue 12 item 4): synthetic cardholders loaded into PostgreSQL with COPY.

``essc scale load`` makes a database of N cardholders, their cards and e-cards that the
application can sign in and find exactly as it does enrolled people (docs/scaling.md).
"""
