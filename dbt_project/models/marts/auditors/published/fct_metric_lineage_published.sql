-- The ledger files behind each month's figures, per build (appended when a month's set of files
-- changes): which delivered files a published figure came from.
{{ config(materialized='incremental', on_schema_change='fail') }}
with current as (
    select
        '{{ env_var("SINERGI_BUILD_ID", "manual") }}'::text as build_id,
        now() as published_at,
        as_of,
        array_agg(load_id order by load_id) as load_ids
    from {{ ref('int_lineage__month_loads') }}
    where as_of in (select as_of from {{ ref('int_publication__months') }} where publishable)
    group by as_of
)

select c.*
from current as c
{% if is_incremental() %}
left join (
    select distinct on (as_of) * from {{ this }} order by as_of, published_at desc
) as last on last.as_of = c.as_of
where last.as_of is null or last.load_ids <> c.load_ids
{% endif %}
