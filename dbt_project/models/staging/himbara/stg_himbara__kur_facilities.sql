-- KUR facilities from the four banks, one row per facility (a corrected file supersedes its month).
{{ month_incremental_config() }}
with ranked as (
    {{ latest_rows(source('raw_himbara', 'kur'), usable_loads('kur'), 'r.id_fasilitas') }}
)

select
    r.id_fasilitas,
    r.as_of,
    b.bank,
    r.nik_debitur_token as nik_token,
    -- NULL in rows loaded before the flag existed: the loader then set such NIKs aside
    coalesce(r.nik_debitur_bad_date, false) as nik_bad_date,
    r.tgl_lahir_debitur as tgl_lahir,
    r.nib,
    r.skema,
    r.plafon,
    r.suku_bunga,
    r.tenor_bulan,
    r.tgl_akad,
    r.tgl_pencairan,
    date_trunc('month', r.tgl_pencairan)::date as disbursement_month,
    r.kode_wilayah,
    {{ regency_code('r.kode_wilayah') }} as regency_code,
    r.sektor,
    nullif(r.kpj, '') as kpj,
    r.status_bpjstk,
    r._load_id as load_id,
    r.source_file,
    r._line as source_line
from ranked as r
join {{ ref('ref_banks') }} as b on b.bank_unit = r.unit
where r.nth = 1
