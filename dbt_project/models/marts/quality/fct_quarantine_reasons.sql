-- Rows quarantined per delivered file and reason (counts only: the raw text stays in the vault), with
-- the sender's region for row-level security (see fct_deliveries).
select
    q.load_id,
    q.sender,
    d.unit,
    q.feed,
    q.as_of,
    q.reason,
    count(*) as rows_quarantined,
    d.sender_region
from {{ ref('stg_audit__quarantined_rows') }} as q
join {{ ref('fct_deliveries') }} as d on d.load_id = q.load_id
group by q.load_id, q.sender, d.unit, q.feed, q.as_of, q.reason, d.sender_region
