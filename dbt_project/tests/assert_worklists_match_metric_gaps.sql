-- Issue 20: a worklist's counts agree with the metrics of the same month and region. For every month and
-- region (regency/city, province, nation), the uncovered active cooperatives are K1's denominator minus
-- numerator, the distinct officers not covered K2's, the mandatory KUR facilities not covered K4's and
-- the licences without a valid recommendation K3's. Any row returned is a disagreement.
with worklist as (
    select as_of, 'K1' as metric, nik_koperasi as entity, regency_code from {{ ref('fct_worklist_cooperatives') }}
    union all
    select as_of, 'K2', person_id, regency_code from {{ ref('fct_worklist_officers') }}
    union all
    select as_of, 'K3', no_keputusan, regency_code from {{ ref('fct_worklist_licences') }}
    union all
    select as_of, 'K4', id_fasilitas, regency_code from {{ ref('fct_worklist_kur') }}
),

counted as (
    select w.as_of, w.metric, l.region, count(distinct w.entity) as entries
    from worklist as w
    cross join lateral (values (w.regency_code), (left(w.regency_code, 2)), ('ID')) as l(region)
    where l.region is not null
    group by w.as_of, w.metric, l.region
),

gaps as (
    select as_of, metric, region, (denominator - numerator)::bigint as gap
    from {{ ref('fct_metrics') }}
    where metric in ('K1', 'K2', 'K3', 'K4') and breakdown = ''
)

select coalesce(g.as_of, c.as_of) as as_of, coalesce(g.metric, c.metric) as metric,
    coalesce(g.region, c.region) as region, g.gap, c.entries
from gaps as g
full join counted as c on c.as_of = g.as_of and c.metric = g.metric and c.region = g.region
where coalesce(g.gap, 0) <> coalesce(c.entries, 0)
