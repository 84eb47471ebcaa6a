-- Every metric the warehouse computes is in the catalogue (seed ref_metrics: the one list of names, kinds and
-- definitions the command line, the dashboard and the report read), and every catalogued metric is computed.
with computed as (
    select distinct metric from {{ ref('fct_metrics') }}
)

select coalesce(c.metric, k.metric) as metric,
       case when k.metric is null then 'dihitung tetapi tidak ada di ref_metrics'
            else 'ada di ref_metrics tetapi tidak dihitung' end as masalah
from computed as c
full join {{ ref('ref_metrics') }} as k on k.metric = c.metric
where c.metric is null or k.metric is null
