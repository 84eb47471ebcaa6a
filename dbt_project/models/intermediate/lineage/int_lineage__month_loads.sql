-- Which ledger files each month's figures were computed from: every batch a staging model read for
-- that month (snapshots of the month, increments delivered for it, decisions taken in it).
{{ month_incremental_config() }}
with used as (
    select distinct as_of, load_id from {{ ref('stg_kemenkop__cooperatives') }}
    union select distinct as_of, load_id from {{ ref('stg_kemenkop__officers') }}
    union select distinct as_of, load_id from {{ ref('stg_kemenkop__licensing_decisions') }}
    union select distinct as_of, load_id from {{ ref('stg_kemenkop__umkm') }}
    union select distinct as_of, load_id from {{ ref('stg_bpjstk__participants') }}
    union select distinct as_of, load_id from {{ ref('stg_bpjstk__employers') }}
    union select distinct as_of, load_id from {{ ref('stg_bpjstk__contributions') }}
    union select distinct as_of, load_id from {{ ref('stg_bpjstk__claims') }}
    union select distinct as_of, load_id from {{ ref('stg_bpjstk__recommendations') }}
    union select distinct as_of, load_id from {{ ref('stg_himbara__kur_facilities') }}
)

select
    u.as_of,
    u.load_id,
    l.sender,
    l.unit,
    l.feed,
    l.period,
    l.source_file,
    l.sha256,
    l.received_at
from used as u
join {{ ref('stg_audit__loads') }} as l on l.load_id = u.load_id
where {{ only_refreshed_months('u.as_of') }}
