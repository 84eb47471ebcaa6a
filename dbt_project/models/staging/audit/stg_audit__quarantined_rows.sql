-- Quarantined rows with the file they came from (Q1 counts them per sender and month).
select
    q.load_id,
    q.line as source_line,
    q.reason,
    q.column_name,
    l.sender,
    l.feed,
    l.status as load_status,
    to_date(left(l.period, 6), 'YYYYMM') as as_of
from {{ source('audit', 'quarantine') }} as q
join {{ source('audit', 'load') }} as l on l.load_id = q.load_id
