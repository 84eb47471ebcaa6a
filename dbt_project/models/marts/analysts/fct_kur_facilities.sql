-- KUR facilities disbursed, per bank and month (grows only: incremental), with the resolved borrower.
{{ month_incremental_config() }}
select
    k.as_of, k.id_fasilitas, k.bank, l.person_id, k.nib, k.skema, k.plafon, k.suku_bunga, k.tenor_bulan,
    k.tgl_akad, k.tgl_pencairan, k.regency_code, left(k.regency_code, 2) as province_code, k.sektor,
    k.kpj, k.status_bpjstk, k.source_file, k.source_line
from {{ ref('stg_himbara__kur_facilities') }} as k
left join {{ ref('int_identity__person_links') }} as l on l.record_feed = 'kur' and l.record_key = k.id_fasilitas
where {{ only_refreshed_months('k.as_of') }}
