-- Every delivered file as the ledger recorded it (all statuses), for the data-quality page: what each
-- sender delivered, when, and what became of it.
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
    l.is_usable
from {{ ref('stg_audit__loads') }} as l
join {{ source('audit', 'load') }} as a on a.load_id = l.load_id
