{# Published figures are kept outside dbt's rebuilt tables: `audit.metrics_published` holds every
   figure each build published for each month, with the build id, code version and the ledger files
   (load ids) it was computed from. Created at run start so that a first build can append to it. #}
{% macro create_published_metrics_table() %}
create schema if not exists audit;
create table if not exists audit.metrics_build (
    build_id text primary key,
    built_at timestamptz not null default now(),
    code_version text not null,
    load_ids bigint[] not null
);
create table if not exists audit.metrics_published (
    build_id text not null references audit.metrics_build,
    as_of date not null,
    metric text not null,
    region text not null,
    breakdown text not null,
    numerator numeric(20, 2),
    denominator bigint,
    value numeric(20, 6),
    primary key (build_id, as_of, metric, region, breakdown)
);
{% endmacro %}
