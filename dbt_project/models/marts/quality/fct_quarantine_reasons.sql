-- Rows quarantined per delivered file and reason (counts only: the raw text stays in the vault).
select
    load_id,
    sender,
    feed,
    as_of,
    reason,
    count(*) as rows_quarantined
from {{ ref('stg_audit__quarantined_rows') }}
group by load_id, sender, feed, as_of, reason
