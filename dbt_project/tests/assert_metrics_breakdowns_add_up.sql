-- Breakdowns that split a metric's entities into disjoint groups add up to its total, in every region:
-- K1 by jenis_koperasi, K3 by jenis_layanan, K4/K5 by bank and by skema, K6 by skala_usaha, K7 by segmen,
-- K8 by pekerjaan, K9/K9_rupiah by program (numerators and denominators alike). The K3 failure reasons
-- (`alasan`) add up to the non-compliant decisions, and Q1's linking rules (`cara`) to the linked
-- cooperatives. (K2 by peran does not split: a person may hold a post of each kind.)
with figures as (
    select *, split_part(breakdown, '=', 1) as dimension
    from {{ ref('fct_metrics') }}
),

partitions (metric, dimension) as (
    values
        ('K1', 'jenis_koperasi'), ('K3', 'jenis_layanan'), ('K4', 'bank'), ('K4', 'skema'),
        ('K5', 'bank'), ('K5', 'skema'), ('K6', 'skala_usaha'), ('K7', 'segmen'), ('K8', 'pekerjaan'),
        ('K9', 'program'), ('K9_rupiah', 'program')
),

totals as (
    select f.as_of, f.metric, f.region, p.dimension, f.numerator, f.denominator
    from figures as f
    join partitions as p on p.metric = f.metric
    where f.breakdown = ''
),

parts as (
    select f.as_of, f.metric, f.region, f.dimension, sum(f.numerator) as numerator, sum(f.denominator) as denominator
    from figures as f
    join partitions as p on p.metric = f.metric and p.dimension = f.dimension
    group by f.as_of, f.metric, f.region, f.dimension
),

partition_failures as (
    select
        coalesce(t.as_of, p.as_of) as as_of,
        coalesce(t.metric, p.metric) as metric,
        coalesce(t.region, p.region) as region,
        coalesce(t.dimension, p.dimension) as dimension,
        t.numerator as total_numerator,
        p.numerator as parts_numerator,
        t.denominator as total_denominator,
        p.denominator as parts_denominator
    from totals as t
    full join parts as p
        on p.as_of = t.as_of and p.metric = t.metric and p.region = t.region and p.dimension = t.dimension
    where t.numerator is distinct from p.numerator
       or t.denominator is distinct from p.denominator
),

reasons as (
    select as_of, metric, region, dimension, sum(numerator) as numerator
    from figures
    where (metric = 'K3' and dimension = 'alasan') or (metric = 'Q1' and dimension = 'cara')
    group by as_of, metric, region, dimension
),

reason_failures as (
    select
        t.as_of,
        t.metric,
        t.region,
        r.dimension,
        case when t.metric = 'K3' then t.denominator - t.numerator else t.numerator end as total_numerator,
        r.numerator as parts_numerator,
        t.denominator as total_denominator,
        null::numeric as parts_denominator
    from figures as t
    left join reasons as r on r.as_of = t.as_of and r.metric = t.metric and r.region = t.region
    where t.breakdown = ''
      and (t.metric = 'K3' or (t.metric = 'Q1' and exists (
          select 1 from figures as c
          where c.as_of = t.as_of and c.metric = 'Q1' and c.region = t.region and c.dimension = 'cara')))
      and coalesce(r.numerator, 0) <> case when t.metric = 'K3' then t.denominator - t.numerator else t.numerator end
)

select * from partition_failures
union all
select * from reason_failures
