-- Licensing decisions, latest version of each (a correction re-sends `no_keputusan` with a later
-- `tgl_update`; the latest wins, whatever order the files were loaded in).
with loads as ({{ usable_loads('perizinan') }}),

ranked as (
    select
        l.source_file,
        r.*,
        count(*) over (partition by r.no_keputusan) as versions,
        row_number() over (
            partition by r.no_keputusan order by r.tgl_update desc, r._load_id desc, r._line desc
        ) as nth
    from {{ source('raw_kemenkop', 'perizinan') }} as r
    join loads as l on l.load_id = r._load_id
)

select
    no_keputusan,
    nik_koperasi,
    jenis_layanan,
    tgl_pengajuan,
    tgl_keputusan,
    date_trunc('month', tgl_keputusan)::date as as_of,
    hasil,
    no_rekomendasi_bpjstk,
    kode_wilayah,
    {{ regency_code('kode_wilayah') }} as regency_code,
    tgl_update,
    versions,
    _load_id as load_id,
    source_file,
    _line as source_line
from ranked
where nth = 1
