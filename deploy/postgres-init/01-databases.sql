-- Creates the two databases on the first start of an empty data volume
-- (postgres:16 runs docker-entrypoint-initdb.d/*.sql with psql as POSTGRES_USER).
-- Passwords are read from the container environment, set from .env by docker-compose.yml.
\set ON_ERROR_STOP on
\getenv airflow_db_password AIRFLOW_DB_PASSWORD
\getenv warehouse_password WAREHOUSE_PASSWORD
\getenv web_password SINERGI_WEB_PASSWORD

-- Airflow metadata database, owned by its own role.
CREATE ROLE airflow LOGIN PASSWORD :'airflow_db_password';
CREATE DATABASE airflow OWNER airflow;
REVOKE CONNECT, TEMPORARY ON DATABASE airflow FROM PUBLIC;

-- Warehouse, owned by the pipeline's login "sinergi". It creates the project's roles on first use
-- (ingestion/access.py: loader, transformer, analyst, auditor, regional) and acts as each of them,
-- so it may create roles and is made a member of those it creates.
CREATE ROLE sinergi LOGIN CREATEROLE PASSWORD :'warehouse_password';
ALTER ROLE sinergi SET createrole_self_grant = 'set, inherit';
CREATE DATABASE sinergi OWNER sinergi;
REVOKE CONNECT, TEMPORARY ON DATABASE sinergi FROM PUBLIC;

-- The dashboard's login: NOINHERIT, it reads only as the role of the user signed in (set local role).
CREATE ROLE sinergi_web LOGIN NOINHERIT PASSWORD :'web_password';
