-- Registered employers per month: every branch's snapshot for that month, one row per NPP.
{{ month_incremental_config() }}
with loads as (select * from ({{ usable_loads('badan_usaha') }}) as l where {{ only_refreshed_months() }}),

ranked as (
    select
        l.as_of,
        l.unit as branch_code,
        r.*,
        row_number() over (partition by l.as_of, r.npp order by r._load_id desc, r._line) as nth
    from {{ source('raw_bpjstk', 'badan_usaha') }} as r
    join loads as l on l.load_id = r._load_id
)

select
    as_of,
    branch_code,
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
    _file as source_file,
    _line as source_line
from ranked
where nth = 1
