-- Each month as the builds published it: complete, or published at its deadline with the deliveries
-- that never came. Appended when a month is first published or its completeness changes; a provisional
-- month never appears here (nor do its figures in fct_metrics_published).
{{ config(materialized='incremental', on_schema_change='fail') }}
with current as (
    select
        '{{ env_var("SINERGI_BUILD_ID", "manual") }}'::text as build_id,
        now() as published_at,
        as_of,
        status,
        expected_deliveries,
        arrived_deliveries,
        missing_deliveries
    from {{ ref('int_publication__months') }}
    where publishable
)

select c.*
from current as c
{% if is_incremental() %}
left join (
    select distinct on (as_of) * from {{ this }} order by as_of, published_at desc
) as last on last.as_of = c.as_of
where last.as_of is null or last.status <> c.status or last.missing_deliveries <> c.missing_deliveries
{% endif %}
