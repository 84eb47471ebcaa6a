-- Every figure of fct_metrics is what its entities in fct_metric_entities give, at every level (the
-- nation, each province, each regency/city) and breakdown, and every non-empty group of entities has its
-- figure: ratios count distinct entities (in the numerator / in all), counts count them, K9_rupiah sums
-- `amount`. Counted here level by level, independently of fct_metrics' own query. Q1's `karantina`
-- figures count quarantined rows, not entities, and are left out.
{% set counts = ['K8', 'K9', 'K9_rupiah'] %}
with entities as (
    select
        as_of,
        metric,
        entity,
        regency_code,
        case when dimension = '' then '' else dimension || '=' || dim_value end as breakdown,
        in_numerator,
        amount
    from {{ ref('fct_metric_entities') }}
),

national as (
    select
        as_of, metric, 'ID' as region, breakdown,
        count(distinct entity) filter (where in_numerator) as entities_in_numerator,
        count(distinct entity) as entities,
        sum(amount) as amount
    from entities
    group by as_of, metric, breakdown
),

provincial as (
    select
        as_of, metric, left(regency_code, 2) as region, breakdown,
        count(distinct entity) filter (where in_numerator),
        count(distinct entity),
        sum(amount)
    from entities
    where regency_code is not null
    group by as_of, metric, left(regency_code, 2), breakdown
),

regional as (
    select
        as_of, metric, regency_code as region, breakdown,
        count(distinct entity) filter (where in_numerator),
        count(distinct entity),
        sum(amount)
    from entities
    where regency_code is not null
    group by as_of, metric, regency_code, breakdown
),

expected as (
    select
        as_of, metric, region, breakdown,
        case when metric = 'K9_rupiah' then amount else entities_in_numerator end as numerator,
        case when metric not in ('{{ counts | join("', '") }}') then entities end as denominator
    from (
        select * from national
        union all select * from provincial
        union all select * from regional
    ) as levels
),

published as (
    select as_of, metric, region, breakdown, numerator, denominator
    from {{ ref('fct_metrics') }}
    where breakdown not like 'karantina=%'
)

select
    coalesce(e.as_of, p.as_of) as as_of,
    coalesce(e.metric, p.metric) as metric,
    coalesce(e.region, p.region) as region,
    coalesce(e.breakdown, p.breakdown) as breakdown,
    e.numerator as entities_numerator,
    p.numerator as metrics_numerator,
    e.denominator as entities_denominator,
    p.denominator as metrics_denominator
from (select * from expected where coalesce(denominator, numerator) > 0) as e
full join published as p
    on p.as_of = e.as_of and p.metric = e.metric and p.region = e.region and p.breakdown = e.breakdown
where e.numerator is distinct from p.numerator
   or e.denominator is distinct from p.denominator
