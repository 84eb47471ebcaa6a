-- Every Inpres 2/2021 metric (metrics.md) for every month, regency/city (`PP.KK`), province (`PP`) and
-- the nation (`ID`), with its breakdowns: numerator, denominator, value. Same shape and meaning as the
-- generator's truth/metrics.csv. Ratios count distinct entities; counts leave the denominator empty.
-- Read by month (all regions) and by region (every month, for the trend).
{{ month_incremental_config(indexes=[{'columns': ['as_of']}, {'columns': ['region']}]) }}
{% set counts = ['K8', 'K9', 'K9_rupiah'] %}
with entities as (
    select * from {{ ref('fct_metric_entities') }} where {{ only_refreshed_months() }}
),

by_level as (
    select e.*, l.region
    from entities as e
    cross join lateral (values (e.regency_code), (left(e.regency_code, 2)), ('ID')) as l(region)
    where l.region is not null
),

aggregated as (
    select
        as_of,
        metric,
        region,
        case when dimension = '' then '' else dimension || '=' || dim_value end as breakdown,
        case
            when metric = 'K9_rupiah' then sum(amount)
            else count(distinct entity) filter (where in_numerator)
        end as numerator,
        case when metric not in ('{{ counts | join("', '") }}') then count(distinct entity) end as denominator
    from by_level
    group by as_of, metric, region, dimension, dim_value
),

quarantined as (
    select as_of, 'Q1' as metric, 'ID' as region, 'karantina=' || sender as breakdown,
        count(*)::numeric as numerator, null::bigint as denominator
    from {{ ref('stg_audit__quarantined_rows') }}
    where load_status in ('loaded', 'superseded') and {{ only_refreshed_months() }}
    group by as_of, sender
)

select
    as_of,
    metric,
    region,
    breakdown,
    numerator::numeric(20, 2) as numerator,
    denominator,
    case
        when denominator is null then numerator
        else round(numerator::numeric / denominator, 6)
    end::numeric(20, 6) as value
from (select * from aggregated union all select * from quarantined) as m
where coalesce(denominator, numerator) > 0
