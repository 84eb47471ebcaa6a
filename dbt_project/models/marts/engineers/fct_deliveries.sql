-- Every delivered file as the ledger recorded it (all statuses), for the data-quality page: what each
-- sender delivered, when, and what became of it. `sender_region` decides who sees the row
-- (macros/row_access.sql): a BPJS branch's province (from dim_branch; null for a branch of no known
-- province), or `ID` for the national senders, the ministry and the banks, whose files cover every
-- province and hold no personal data here: every regional user sees those.
select
    l.load_id,
    l.sender,
    l.unit,
    l.feed,
    l.period,
    l.as_of,
    l.source_file,
    l.sha256,
    l.size_bytes,
    l.received_at,
    l.loaded_at,
    l.rows_read,
    l.rows_loaded,
    l.rows_quarantined,
    l.status,
    l.reason_code,
    a.reason,
    l.quality,
    l.is_usable,
    case when l.sender = 'bpjstk' then b.province_code else 'ID' end as sender_region
from {{ ref('stg_audit__loads') }} as l
join {{ source('audit', 'load') }} as a on a.load_id = l.load_id
left join {{ ref('dim_branch') }} as b on l.sender = 'bpjstk' and b.branch_code = l.unit
