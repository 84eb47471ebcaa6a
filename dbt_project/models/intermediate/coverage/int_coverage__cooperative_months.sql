-- Each cooperative's state per month, with the employer(s) it is registered as and their status.
{{ month_incremental_config() }}
with links as (
    select npp, nik_koperasi, rule,
        case rule when 'nik_koperasi' then 1 when 'nib' then 2 when 'npwp' then 3 else 4 end as priority
    from {{ ref('int_identity__cooperative_employers') }}
    where nik_koperasi is not null
),

employer_months as (
    select
        e.as_of,
        l.nik_koperasi,
        min(l.priority) as priority,
        string_agg(e.npp, ', ' order by e.npp) as npp,
        bool_or(e.status = 'Aktif') as has_active_employer
    from {{ ref('stg_bpjstk__employers') }} as e
    join links as l on l.npp = e.npp
    where {{ only_refreshed_months('e.as_of') }}
    group by e.as_of, l.nik_koperasi
)

select
    c.as_of,
    c.nik_koperasi,
    c.nama_koperasi,
    c.jenis_koperasi,
    c.status_koperasi,
    c.status_koperasi = 'Aktif' as is_active,
    c.regency_code,
    m.npp,
    case m.priority when 1 then 'nik_koperasi' when 2 then 'nib' when 3 then 'npwp' when 4 then 'nama_wilayah' end
        as link_rule,
    coalesce(m.has_active_employer, false) as has_active_employer,
    c.load_id,
    c.source_file,
    c.source_line
from {{ ref('stg_kemenkop__cooperatives') }} as c
left join employer_months as m on m.as_of = c.as_of and m.nik_koperasi = c.nik_koperasi
where {{ only_refreshed_months('c.as_of') }}
