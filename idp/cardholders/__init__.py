"""Cardholders: enrolment, look-up, PIN rules and checks, GB 11643 ID numbers."""
