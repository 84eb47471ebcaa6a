-- K3: approved founding licences and status evaluations decided in M, and whether each cites a
-- recommendation letter that exists, was issued to the same cooperative and is valid on the decision
-- date. `alasan` says why not: tidak_ada (none cited), tidak_dikenal (unknown letter), koperasi_lain
-- (issued to another cooperative), tidak_berlaku (not valid on that date).
-- The dashboard's list reads one month, often one province.
{{ config(indexes=[{'columns': ['as_of', 'province_code']}]) }}
with decisions as (
    select d.*, coalesce(d.regency_code, c.regency_code) as region
    from {{ ref('stg_kemenkop__licensing_decisions') }} as d
    left join (
        select distinct on (nik_koperasi) nik_koperasi, regency_code
        from {{ ref('stg_kemenkop__cooperatives') }}
        order by nik_koperasi, as_of desc
    ) as c on c.nik_koperasi = d.nik_koperasi
    where d.hasil = 'Disetujui' and d.jenis_layanan in ('Pendirian', 'Evaluasi Status')
),

checked as (
    select
        d.as_of,
        d.no_keputusan,
        d.nik_koperasi,
        d.jenis_layanan,
        d.tgl_keputusan,
        d.no_rekomendasi_bpjstk,
        d.region as regency_code,
        r.nik_koperasi as letter_cooperative,
        r.tgl_terbit,
        r.berlaku_sampai,
        case
            when d.no_rekomendasi_bpjstk is null then 'tidak_ada'
            when r.no_rekomendasi is null then 'tidak_dikenal'
            when r.nik_koperasi is distinct from d.nik_koperasi then 'koperasi_lain'
            when not (r.tgl_terbit <= d.tgl_keputusan and d.tgl_keputusan <= r.berlaku_sampai) then 'tidak_berlaku'
        end as alasan,
        d.source_file,
        d.source_line
    from decisions as d
    left join {{ ref('stg_bpjstk__recommendations') }} as r
        on r.no_rekomendasi = d.no_rekomendasi_bpjstk and r.as_of <= d.as_of
)

select
    as_of,
    no_keputusan,
    nik_koperasi,
    jenis_layanan,
    tgl_keputusan,
    no_rekomendasi_bpjstk,
    regency_code,
    left(regency_code, 2) as province_code,
    letter_cooperative,
    tgl_terbit,
    berlaku_sampai,
    alasan is null as is_compliant,
    alasan,
    source_file,
    source_line
from checked
