-- Every figure as each build published it: a figure is appended when it is new or differs from its
-- last publication, with the build id and code version. The first row of a key is the figure as first
-- published; `fct_metric_revisions` sets it beside the figure as it stands now. Only months whose
-- expected deliveries have arrived or are past their deadline are published (int_publication__months).
{{ config(materialized='incremental', on_schema_change='fail') }}
with current as (
    select
        '{{ env_var("SINERGI_BUILD_ID", "manual") }}'::text as build_id,
        '{{ env_var("SINERGI_CODE_VERSION", "unknown") }}'::text as code_version,
        now() as published_at,
        m.as_of, m.metric, m.region, m.breakdown, m.numerator, m.denominator, m.value
    from {{ ref('fct_metrics') }} as m
    where m.as_of in (select as_of from {{ ref('int_publication__months') }} where publishable)
)

select c.*
from current as c
{% if is_incremental() %}
left join (
    select distinct on (as_of, metric, region, breakdown) *
    from {{ this }}
    order by as_of, metric, region, breakdown, published_at desc
) as last
    on last.as_of = c.as_of and last.metric = c.metric and last.region = c.region and last.breakdown = c.breakdown
where last.as_of is null
   or last.numerator is distinct from c.numerator
   or last.denominator is distinct from c.denominator
{% endif %}
