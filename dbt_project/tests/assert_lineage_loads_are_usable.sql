-- The files a month's figures are computed from are only files the ledger lets the warehouse read.
select
    m.as_of,
    m.load_id,
    m.source_file,
    l.status,
    l.quality
from {{ ref('int_lineage__month_loads') }} as m
join {{ ref('stg_audit__loads') }} as l on l.load_id = m.load_id
where not l.is_usable
