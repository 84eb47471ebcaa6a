-- Participants per month: every branch's snapshot for that month, one row per KPJ.
{{ month_incremental_config() }}
with ranked as (
    {{ latest_rows(source('raw_bpjstk', 'peserta'), usable_loads('peserta'), 'r.kpj') }}
)

select
    as_of,
    unit as branch_code,
    kpj,
    nik_token,
    -- NULL in rows loaded before the flag existed: the loader then set such NIKs aside
    coalesce(nik_bad_date, false) as nik_bad_date,
    tgl_lahir,
    jenis_kelamin,
    segmen,
    nullif(npp, '') as npp,
    program,
    program ~ '\mJKK\M' and program ~ '\mJKM\M' as has_jkk_jkm,
    upah,
    pekerjaan,
    kode_wilayah,
    {{ regency_code('kode_wilayah') }} as regency_code,
    tgl_kepesertaan,
    status,
    status = 'Aktif' as is_active,
    iuran_terakhir,
    _load_id as load_id,
    source_file,
    _line as source_line
from ranked
where nth = 1
