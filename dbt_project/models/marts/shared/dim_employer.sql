-- Each BPJS Ketenagakerjaan employer as last reported by its branch, and the cooperative it is.
select
    e.npp,
    e.nama_badan_usaha,
    e.kategori,
    e.npwp15,
    e.nib,
    e.regency_code,
    left(e.regency_code, 2) as province_code,
    e.tgl_daftar,
    e.status,
    e.branch_code,
    l.nik_koperasi,
    l.rule as link_rule,
    l.score as link_score,
    e.as_of as last_reported
from (
    select distinct on (npp) * from {{ ref('stg_bpjstk__employers') }} order by npp, as_of desc
) as e
left join {{ ref('int_identity__cooperative_employers') }} as l on l.npp = e.npp
