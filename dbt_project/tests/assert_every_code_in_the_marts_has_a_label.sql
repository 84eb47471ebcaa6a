-- Every code a reader meets in the marts has its Bahasa label in the seed ref_labels (the one list the
-- loader, the dashboard and the report read): quarantine reasons, K3 reasons, ledger statuses and quality
-- verdicts, breakdown dimensions and the coded breakdown values. A code listed here without a label fails.
with labels as (
    select vocabulary, code from {{ ref('ref_labels') }}
),

breakdowns as (
    select distinct split_part(breakdown, '=', 1) as dimension, split_part(breakdown, '=', 2) as value
    from {{ ref('fct_metrics') }}
    where breakdown <> ''
),

used as (
    select distinct 'quarantine_reason' as vocabulary, reason as code, 'fct_quarantine_reasons.reason' as used_in
    from {{ ref('fct_quarantine_reasons') }}
    union all
    select distinct 'licensing_reason', alasan, 'fct_licensing_compliance.alasan'
    from {{ ref('fct_licensing_compliance') }} where alasan is not null
    union all
    select distinct 'load_status', status, 'fct_deliveries.status' from {{ ref('fct_deliveries') }}
    union all
    select distinct 'quality', quality, 'fct_deliveries.quality' from {{ ref('fct_deliveries') }}
    union all
    select distinct 'breakdown_dimension', dimension, 'fct_metrics.breakdown' from breakdowns
    union all
    select distinct case dimension when 'alasan' then 'licensing_reason' when 'cara' then 'link_rule'
                                   else dimension end, value, 'fct_metrics.breakdown (' || dimension || ')'
    from breakdowns
    where dimension in ('alasan', 'cara', 'peran', 'temuan', 'kesesuaian_status', 'segmen', 'kelompok')
)

select u.vocabulary, u.code, u.used_in
from used as u
where not exists (
    select 1 from labels as l
    where (l.vocabulary = u.vocabulary
           or (u.vocabulary = 'quarantine_reason' and l.vocabulary = 'quarantine_reason_retired'))
      and l.code = u.code
)
