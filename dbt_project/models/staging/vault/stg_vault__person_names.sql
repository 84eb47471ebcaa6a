-- Names of the records the warehouse reads, normalised for matching. Kept in the `restricted` schema;
-- the plain NIK never leaves the vault (a slip is measured there: vault.nik_distance).
{{ month_incremental_config() }}
with loads as (
    select * from ({{ month_end_loads('pengurus') }}) as o where {{ only_refreshed_months() }}
    union all
    select *, 1 from ({{ usable_loads('umkm') }}) as u where {{ only_refreshed_months() }}
    union all
    select *, 1 from ({{ usable_loads('peserta') }}) as p where {{ only_refreshed_months() }}
    union all
    select *, 1 from ({{ usable_loads('kur') }}) as k where {{ only_refreshed_months() }}
)
select
    l.as_of,
    v.load_id,
    v.line as source_line,
    v.feed,
    v.nik_token,
    {{ name_key('v.nama', 'person') }} as name_key
from {{ source('vault', 'person_for_matching') }} as v
join loads as l on l.load_id = v.load_id
where {{ loaded_since_refreshed_months('v.load_id', 'select * from loads') }}
