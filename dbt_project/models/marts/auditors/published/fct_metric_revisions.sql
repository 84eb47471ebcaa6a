-- Each figure as first published beside the figure as it stands now, and, where they differ, the
-- ledger files that arrived since (corrections and late deliveries for that month).
{{ config(materialized='view', full_refresh=none) }}
with first_published as (
    select distinct on (as_of, metric, region, breakdown) *
    from {{ ref('fct_metrics_published') }}
    order by as_of, metric, region, breakdown, published_at
),

first_lineage as (
    select distinct on (as_of) as_of, load_ids, build_id
    from {{ ref('fct_metric_lineage_published') }}
    order by as_of, published_at
),

changed_files as (
    select
        n.as_of,
        array_agg(n.source_file order by n.load_id) as files_since_publication
    from {{ ref('int_lineage__month_loads') }} as n
    join first_lineage as f on f.as_of = n.as_of
    where not n.load_id = any(f.load_ids)
    group by n.as_of
)

select
    m.as_of,
    m.metric,
    m.region,
    m.breakdown,
    p.build_id as published_build_id,
    p.code_version as published_code_version,
    p.published_at,
    p.numerator as published_numerator,
    p.denominator as published_denominator,
    p.value as published_value,
    m.numerator,
    m.denominator,
    m.value,
    p.build_id is not null
        and (p.numerator is distinct from m.numerator or p.denominator is distinct from m.denominator) as is_revised,
    c.files_since_publication
from {{ ref('fct_metrics') }} as m
left join first_published as p
    on p.as_of = m.as_of and p.metric = m.metric and p.region = m.region and p.breakdown = m.breakdown
left join changed_files as c on c.as_of = m.as_of
