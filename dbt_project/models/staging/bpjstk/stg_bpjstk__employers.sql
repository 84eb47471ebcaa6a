-- Registered employers per month: every branch's snapshot for that month, one row per NPP.
{{ month_incremental_config() }}
with ranked as (
    {{ latest_rows(source('raw_bpjstk', 'badan_usaha'), usable_loads('badan_usaha'), 'r.npp') }}
)

select
    as_of,
    unit as branch_code,
    npp,
    nama_badan_usaha,
    {{ name_key('nama_badan_usaha', 'cooperative') }} as name_key,
    {{ npwp15('npwp') }} as npwp15,
    nib,
    nik_koperasi,
    kategori,
    kode_wilayah,
    {{ regency_code('kode_wilayah') }} as regency_code,
    tgl_daftar,
    status,
    jumlah_tk_aktif,
    _load_id as load_id,
    source_file,
    _line as source_line
from ranked
where nth = 1
