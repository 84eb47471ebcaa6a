-- A larger region counts at least what any region inside it counts: the nation (`ID`) at least each
-- province, a province at least each of its regencies/cities (numerator and denominator, same month,
-- metric and breakdown).
with figures as (
    select *,
        case when region = 'ID' then null when length(region) = 2 then 'ID' else left(region, 2) end as parent
    from {{ ref('fct_metrics') }}
)

select
    f.as_of,
    f.metric,
    f.breakdown,
    f.region,
    f.numerator,
    f.denominator,
    f.parent as parent_region,
    p.numerator as parent_numerator,
    p.denominator as parent_denominator
from figures as f
left join figures as p
    on p.as_of = f.as_of and p.metric = f.metric and p.breakdown = f.breakdown and p.region = f.parent
where f.parent is not null
  and (p.region is null
       or f.numerator > p.numerator
       or f.denominator > p.denominator)
