-- Participants per month: every branch's snapshot for that month, one row per KPJ.
{{ month_incremental_config() }}
with loads as (select * from ({{ usable_loads('peserta') }}) as l where {{ only_refreshed_months() }}),

ranked as (
    select
        l.as_of,
        l.unit as branch_code,
        r.*,
        row_number() over (partition by l.as_of, r.kpj order by r._load_id desc, r._line) as nth
    from {{ source('raw_bpjstk', 'peserta') }} as r
    join loads as l on l.load_id = r._load_id
)

select
    as_of,
    branch_code,
    kpj,
    nik_token,
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
    _file as source_file,
    _line as source_line
from ranked
where nth = 1
