-- Each BPJS Ketenagakerjaan employer linked to the cooperative it is, by the first rule that holds:
--   nik_koperasi (filled by the branch) > nib > npwp (15- and 16-digit forms are one number) >
--   nama_wilayah (same regency/city, most similar normalised name, score >= threshold, no tie).
-- Identifiers that point to two different cooperatives are a conflict (`konflik`): reported, not linked.
{% set min_similarity = var('cooperative_name_min_similarity') %}
with employers as (
    select distinct on (npp) npp, nik_koperasi, nib, npwp15, name_key, regency_code, kategori, as_of
    from {{ ref('stg_bpjstk__employers') }}
    order by npp, as_of desc
),

cooperatives as (
    select distinct on (nik_koperasi) nik_koperasi, nib, npwp15, name_key, regency_code
    from {{ ref('stg_kemenkop__cooperatives') }}
    order by nik_koperasi, as_of desc
),

by_identifier as (
    select e.npp, c.nik_koperasi, 'nik_koperasi' as rule, 1 as priority
    from employers as e join cooperatives as c on c.nik_koperasi = e.nik_koperasi
    union all
    select e.npp, c.nik_koperasi, 'nib', 2
    from employers as e join cooperatives as c on c.nib = e.nib
    union all
    select e.npp, c.nik_koperasi, 'npwp', 3
    from employers as e join cooperatives as c on c.npwp15 = e.npwp15
),

identifier_verdict as (
    select
        npp,
        min(nik_koperasi) as nik_koperasi,
        (array_agg(rule order by priority))[1] as rule,
        count(distinct nik_koperasi) > 1 as is_conflict,
        string_agg(distinct nik_koperasi, ', ') as candidates
    from by_identifier
    group by npp
),

unmatched as (
    select * from employers as e
    where e.npp not in (select npp from identifier_verdict)
      -- Only names that read as a cooperative are compared: companies (`PT ...`, `CV ...`) never are,
      -- and leaving them out keeps the comparison to cooperatives x cooperative-like employers.
      and (e.kategori = 'Koperasi' or e.name_key like 'KOP%')
),

name_candidates as (
    select
        e.npp,
        c.nik_koperasi,
        case when c.name_key = e.name_key then 1.0 else similarity(c.name_key, e.name_key) end as score
    from unmatched as e
    join cooperatives as c on c.regency_code = e.regency_code
    where c.name_key = e.name_key or similarity(c.name_key, e.name_key) >= {{ min_similarity }}
),

by_name as (
    select npp, nik_koperasi, score
    from (
        select
            n.*,
            row_number() over (partition by npp order by score desc, nik_koperasi) as nth,
            count(*) over (partition by npp, score) as ties
        from name_candidates as n
    ) as ranked
    where nth = 1 and ties = 1
)

select
    e.npp,
    case when not coalesce(i.is_conflict, false) then coalesce(i.nik_koperasi, n.nik_koperasi) end as nik_koperasi,
    case
        when i.is_conflict then 'konflik'
        when i.rule is not null then i.rule
        when n.npp is not null then 'nama_wilayah'
        else 'tidak_ditemukan'
    end as rule,
    case when i.rule is not null and not i.is_conflict then 1.0 else n.score end::numeric(4, 3) as score,
    case when i.is_conflict then i.candidates end as conflicting_cooperatives,
    e.kategori,
    e.regency_code
from employers as e
left join identifier_verdict as i on i.npp = e.npp
left join by_name as n on n.npp = e.npp
