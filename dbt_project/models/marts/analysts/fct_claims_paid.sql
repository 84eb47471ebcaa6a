-- K9: claims paid in M, with the claimant's region and whether they are a cooperative worker, an UMKM
-- owner or a KUR borrower in M.
{{ month_incremental_config() }}
with claimants as (
    select c.*, p.person_id, p.regency_code
    from {{ ref('stg_bpjstk__claims') }} as c
    left join {{ ref('int_coverage__participant_months') }} as p on p.as_of = c.as_of and p.kpj = c.kpj
    where {{ only_refreshed_months('c.as_of') }}
),

roles as (
    select as_of, person_id, array_agg(distinct kelompok) as kelompok
    from {{ ref('int_coverage__person_roles') }}
    where {{ only_refreshed_months() }}
    group by as_of, person_id
)

select
    c.as_of,
    c.no_klaim,
    c.kpj,
    c.person_id,
    c.program,
    c.nominal,
    c.tgl_bayar,
    c.regency_code,
    left(c.regency_code, 2) as province_code,
    coalesce('pekerja_koperasi' = any(r.kelompok), false) as is_cooperative_worker,
    coalesce('pemilik_umkm' = any(r.kelompok), false) as is_umkm_owner,
    coalesce('debitur_kur' = any(r.kelompok), false) as is_kur_borrower,
    c.source_file,
    c.source_line
from claimants as c
left join roles as r on r.as_of = c.as_of and r.person_id = c.person_id
