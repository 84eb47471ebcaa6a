-- The load ledger as the warehouse sees it: which file each batch came from and whether it counts.
select
    load_id,
    sender,
    unit,
    feed,
    period,
    to_date(left(period, 6), 'YYYYMM') as as_of,
    file as source_file,
    sha256,
    size_bytes,
    received_at,
    finished_at as loaded_at,
    rows_read,
    rows_loaded,
    rows_quarantined,
    status,
    reason_code,
    quality,
    superseded_by,
    status = 'loaded' and quality in {{ accepted_quality() }} as is_usable
from {{ source('audit', 'load') }}
