"""Errors worth a retry: the server went away or refused for a while, not a problem with the file.

Kept apart from the loader so that what schedules loads (Airflow's retry policy) can name them without
importing the loader and its data libraries.
"""
from __future__ import annotations

import psycopg

TRANSIENT = (psycopg.OperationalError, psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
