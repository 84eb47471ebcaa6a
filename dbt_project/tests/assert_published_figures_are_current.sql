-- After a build, the latest publication of every figure is the figure as it stands
-- (fct_metrics_published appends a figure when it is new or changed); provisional months are not published.
with latest as (
    select distinct on (as_of, metric, region, breakdown) *
    from {{ ref('fct_metrics_published') }}
    order by as_of, metric, region, breakdown, published_at desc
)

select
    m.as_of,
    m.metric,
    m.region,
    m.breakdown,
    m.numerator,
    m.denominator,
    l.build_id as last_build_id,
    l.numerator as last_published_numerator,
    l.denominator as last_published_denominator
from {{ ref('fct_metrics') }} as m
left join latest as l
    on l.as_of = m.as_of and l.metric = m.metric and l.region = m.region and l.breakdown = m.breakdown
where m.as_of in (select as_of from {{ ref('int_publication__months') }} where publishable)
  and (l.as_of is null
   or l.numerator is distinct from m.numerator
   or l.denominator is distinct from m.denominator)
