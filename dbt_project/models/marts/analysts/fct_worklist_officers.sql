-- Worklist (b), issue 20: each officer or staff post held at the end of M in an active cooperative
-- whose holder is not covered (not an active participant with JKK and JKM): K2's denominator minus its
-- numerator, counted by distinct person. The worklist shows the posts of covered cooperatives
-- (`cooperative_is_covered`); those of uncovered cooperatives are in worklist (a) with their cooperative.
-- Rank rule: each person moves K2 by one; a cooperative's posts are visited together, so entries rank by
-- the cooperative's persons not covered (`weight`), then officers before staff, then post.
-- Holders are tokens (`person_id`): names only through the auditors' vault view.
{{ config(indexes=[{'columns': ['as_of', 'regency_code']}, {'columns': ['as_of', 'branch_code']}]) }}
with posts as (
    select o.*, c.nama_koperasi, c.is_covered as cooperative_is_covered
    from {{ ref('fct_officer_coverage') }} as o
    join {{ ref('fct_cooperative_coverage') }} as c on c.as_of = o.as_of and c.nik_koperasi = o.nik_koperasi
    where not o.is_covered
),

weighted as (
    select p.*, n.weight
    from posts as p
    join (
        select as_of, nik_koperasi, count(distinct person_id)::integer as weight from posts group by as_of, nik_koperasi
    ) as n on n.as_of = p.as_of and n.nik_koperasi = p.nik_koperasi
)

select
    w.as_of,
    w.nik_koperasi,
    w.nama_koperasi,
    w.cooperative_is_covered,
    w.person_id,
    w.peran,
    w.jabatan,
    w.is_registered,
    w.regency_code,
    w.province_code,
    a.branch_code,
    w.weight,
    row_number() over (
        partition by w.as_of, w.regency_code
        order by w.weight desc, w.nama_koperasi, w.nik_koperasi,
            array_position(array['Ketua', 'Wakil Ketua', 'Sekretaris', 'Bendahara', 'Pengawas', 'Manajer', 'Karyawan'], w.jabatan),
            w.person_id
    )::integer as rank_in_regency
from weighted as w
left join {{ ref('dim_branch_area') }} as a on a.regency_code = w.regency_code
