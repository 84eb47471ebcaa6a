-- The UMKM registry, one snapshot per month.
{{ month_incremental_config() }}
with loads as (select * from ({{ usable_loads('umkm') }}) as l where {{ only_refreshed_months() }}),

ranked as (
    select
        l.as_of,
        r.*,
        row_number() over (partition by l.as_of, r.nib order by r._load_id desc, r._line) as nth
    from {{ source('raw_kemenkop', 'umkm') }} as r
    join loads as l on l.load_id = r._load_id
)

select
    as_of,
    nib,
    nama_usaha,
    nik_pemilik_token as nik_token,
    tgl_lahir_pemilik as tgl_lahir,
    skala_usaha,
    kbli,
    kode_wilayah,
    {{ regency_code('kode_wilayah') }} as regency_code,
    jumlah_tenaga_kerja,
    tgl_terbit_nib,
    omzet_tahunan,
    _load_id as load_id,
    _file as source_file,
    _line as source_line
from ranked
where nth = 1
