-- Licensing and status decisions (latest version of each), by the month they were decided in.
select
    as_of, no_keputusan, nik_koperasi, jenis_layanan, tgl_pengajuan, tgl_keputusan, hasil,
    no_rekomendasi_bpjstk, regency_code, left(regency_code, 2) as province_code, tgl_update, versions,
    source_file, source_line
from {{ ref('stg_kemenkop__licensing_decisions') }}
