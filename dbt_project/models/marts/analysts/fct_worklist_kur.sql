-- Worklist (c), issue 20: each mandatory KUR facility (KUR Kecil / Khusus above Rp100 jt) disbursed in M
-- whose borrower was not an active participant on the disbursement date or within 30 days after it:
-- K4's denominator minus its numerator, per bank. `batas_30_hari` is the last day of that window.
-- Rank rule: each facility moves K4 by one and enrolling a borrower covers all of their facilities of
-- the month, so within a bank entries rank by the borrower's facilities not covered (`weight`), then the
-- larger plafon, then the earlier disbursement. Borrowers are tokens; names only for auditors.
{{ config(indexes=[{'columns': ['as_of', 'regency_code']}, {'columns': ['as_of', 'branch_code']}]) }}
with open_facilities as (
    select k.*, (count(*) over (partition by k.as_of, k.person_id))::integer as weight
    from {{ ref('fct_kur_coverage') }} as k
    where k.is_mandatory and not k.is_covered
)

select
    f.as_of,
    f.id_fasilitas,
    f.bank,
    f.skema,
    f.plafon,
    f.tgl_pencairan,
    f.tgl_pencairan + 30 as batas_30_hari,
    f.person_id,
    f.is_registered,
    f.status_bpjstk,
    f.regency_code,
    f.province_code,
    a.branch_code,
    f.weight,
    row_number() over (
        partition by f.as_of, f.regency_code, f.bank
        order by f.weight desc, f.plafon desc, f.tgl_pencairan, f.id_fasilitas
    )::integer as rank_in_bank
from open_facilities as f
left join {{ ref('dim_branch_area') }} as a on a.regency_code = f.regency_code
