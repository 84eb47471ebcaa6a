-- The UMKM registry, one snapshot per month.
{{ month_incremental_config() }}
with ranked as (
    {{ latest_rows(source('raw_kemenkop', 'umkm'), usable_loads('umkm'), 'r.nib') }}
)

select
    as_of,
    nib,
    nama_usaha,
    nik_pemilik_token as nik_token,
    -- NULL in rows loaded before the flag existed: the loader then set such NIKs aside
    coalesce(nik_pemilik_bad_date, false) as nik_bad_date,
    tgl_lahir_pemilik as tgl_lahir,
    skala_usaha,
    kbli,
    kode_wilayah,
    {{ regency_code('kode_wilayah') }} as regency_code,
    jumlah_tenaga_kerja,
    tgl_terbit_nib,
    omzet_tahunan,
    _load_id as load_id,
    source_file,
    _line as source_line
from ranked
where nth = 1
