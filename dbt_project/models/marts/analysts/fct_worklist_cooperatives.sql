-- Worklist (a), issue 20: each active cooperative not covered in M (K1's denominator minus its numerator),
-- with what a branch office or a Dinas needs to visit it (address, officers) and how long it has waited.
-- Rank rule: an entry moves K1 by one cooperative and K2 by each of its officers not covered, so
-- `weight` = 1 + officers_not_covered; ties go to the longest uncovered, then by name.
-- `months_uncovered`: consecutive months up to M (of those the warehouse holds) in which the cooperative
-- was active and not covered.
{{ config(indexes=[{'columns': ['as_of', 'regency_code']}, {'columns': ['as_of', 'branch_code']}]) }}
with history as (
    select
        as_of,
        nik_koperasi,
        is_covered,
        (extract(year from as_of) * 12 + extract(month from as_of))::integer
            - row_number() over (partition by nik_koperasi, is_covered order by as_of)::integer as run
    from {{ ref('fct_cooperative_coverage') }}
),

streaks as (
    select as_of, nik_koperasi,
        row_number() over (partition by nik_koperasi, run order by as_of)::integer as months_uncovered
    from history
    where not is_covered
),

officers as (
    select as_of, nik_koperasi,
        count(distinct person_id)::integer as officers,
        (count(distinct person_id) filter (where not is_covered))::integer as officers_not_covered
    from {{ ref('fct_officer_coverage') }}
    group by as_of, nik_koperasi
),

registry as (
    select as_of, nik_koperasi, alamat, (jumlah_anggota_pria + jumlah_anggota_wanita)::integer as jumlah_anggota, nib
    from {{ ref('stg_kemenkop__cooperatives') }}
)

select
    c.as_of,
    c.nik_koperasi,
    c.nama_koperasi,
    c.jenis_koperasi,
    r.alamat,
    r.jumlah_anggota,
    r.nib,
    c.regency_code,
    c.province_code,
    a.branch_code,
    c.npp,
    c.link_rule,
    c.is_linked,
    coalesce(o.officers, 0) as officers,
    coalesce(o.officers_not_covered, 0) as officers_not_covered,
    s.months_uncovered,
    1 + coalesce(o.officers_not_covered, 0) as weight,
    row_number() over (
        partition by c.as_of, c.regency_code
        order by 1 + coalesce(o.officers_not_covered, 0) desc, s.months_uncovered desc, c.nama_koperasi, c.nik_koperasi
    )::integer as rank_in_regency
from {{ ref('fct_cooperative_coverage') }} as c
join streaks as s on s.as_of = c.as_of and s.nik_koperasi = c.nik_koperasi
left join officers as o on o.as_of = c.as_of and o.nik_koperasi = c.nik_koperasi
left join registry as r on r.as_of = c.as_of and r.nik_koperasi = c.nik_koperasi
left join {{ ref('dim_branch_area') }} as a on a.regency_code = c.regency_code
where not c.is_covered
