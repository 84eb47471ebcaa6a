-- The sex each officer, UMKM owner and KUR borrower record's NIK carries (day digits + 40 for women), for
-- the linkage report's bias check: the UMKM and KUR feeds have no sex column. Participants are left out
-- (the check is about the records that are linked to them). Restricted schema, like the names.
{{ month_incremental_config() }}
with loads as (
    select * from ({{ month_end_loads('pengurus') }}) as o where {{ only_refreshed_months() }}
    union all
    select *, 1 from ({{ usable_loads('umkm') }}) as u where {{ only_refreshed_months() }}
    union all
    select *, 1 from ({{ usable_loads('kur') }}) as k where {{ only_refreshed_months() }}
)
select
    l.as_of,
    v.load_id,
    v.line as source_line,
    v.feed,
    v.nik_sex
from {{ source('vault', 'person_for_matching') }} as v
join loads as l on l.load_id = v.load_id
where {{ loaded_since_refreshed_months('v.load_id', 'select * from loads') }}
