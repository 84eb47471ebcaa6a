-- Worklist (d), issue 20: each licensing decision approved in M (founding or status evaluation) without
-- a valid BPJS Ketenagakerjaan recommendation: K3's denominator minus its numerator, with the reason.
-- Rank rule: each decision moves K3 by one; the Dinas settles a cooperative's decisions together, so
-- entries rank by the cooperative's decisions without a valid recommendation (`weight`), then date.
{{ config(indexes=[{'columns': ['as_of', 'regency_code']}, {'columns': ['as_of', 'branch_code']}]) }}
with failing as (
    select l.*, (count(*) over (partition by l.as_of, l.nik_koperasi))::integer as weight
    from {{ ref('fct_licensing_compliance') }} as l
    where not l.is_compliant
)

select
    f.as_of,
    f.no_keputusan,
    f.nik_koperasi,
    d.nama_koperasi,
    f.jenis_layanan,
    f.tgl_keputusan,
    f.no_rekomendasi_bpjstk,
    f.alasan,
    f.regency_code,
    f.province_code,
    a.branch_code,
    f.weight,
    row_number() over (
        partition by f.as_of, f.regency_code
        order by f.weight desc, f.nik_koperasi, f.tgl_keputusan, f.no_keputusan
    )::integer as rank_in_regency
from failing as f
left join {{ ref('dim_cooperative') }} as d on d.nik_koperasi = f.nik_koperasi
left join {{ ref('dim_branch_area') }} as a on a.regency_code = f.regency_code
