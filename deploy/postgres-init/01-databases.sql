-- Creates the two databases on the first start of an empty data volume
-- (postgres:16 runs docker-entrypoint-initdb.d/*.sql with psql as POSTGRES_USER).
-- Passwords are read from the container environment, set from .env by docker-compose.yml.
\set ON_ERROR_STOP on
\getenv airflow_db_password AIRFLOW_DB_PASSWORD
\getenv warehouse_password WAREHOUSE_PASSWORD

-- Airflow metadata database, owned by its own role.
CREATE ROLE airflow LOGIN PASSWORD :'airflow_db_password';
CREATE DATABASE airflow OWNER airflow;
REVOKE CONNECT, TEMPORARY ON DATABASE airflow FROM PUBLIC;

-- Warehouse, owned by the loader role (ingestion and dbt create its schemas).
CREATE ROLE sinergi_loader LOGIN PASSWORD :'warehouse_password';
CREATE DATABASE sinergi OWNER sinergi_loader;
REVOKE CONNECT, TEMPORARY ON DATABASE sinergi FROM PUBLIC;
