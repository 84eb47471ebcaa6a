-- Rows quarantined per delivered file and reason, with its label (counts only: the raw text stays in the vault), with
-- the sender's region for row-level security (see fct_deliveries).
select
    q.load_id,
    q.sender,
    d.unit,
    q.feed,
    q.as_of,
    q.reason,
    coalesce(l.label, q.reason) as reason_label,
    count(*) as rows_quarantined,
    d.sender_region
from {{ ref('stg_audit__quarantined_rows') }} as q
join {{ ref('fct_deliveries') }} as d on d.load_id = q.load_id
left join {{ ref('ref_labels') }} as l
    on l.vocabulary in ('quarantine_reason', 'quarantine_reason_retired') and l.code = q.reason
group by q.load_id, q.sender, d.unit, q.feed, q.as_of, q.reason, l.label, d.sender_region
