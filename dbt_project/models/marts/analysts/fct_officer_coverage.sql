-- K2 and Q1 (officers): each person in office at the end of M in an active cooperative, per role
-- group, and whether they are an active participant with at least JKK and JKM.
{{ month_incremental_config() }}
with officers as (
    select
        o.as_of,
        o.nik_koperasi,
        o.peran,
        o.jabatan,
        c.regency_code,
        l.person_id,
        l.rule as link_rule,
        o.source_file,
        o.source_line
    from {{ ref('stg_kemenkop__officers') }} as o
    join {{ ref('int_coverage__cooperative_months') }} as c
        on c.as_of = o.as_of and c.nik_koperasi = o.nik_koperasi and c.is_active
    join {{ ref('int_identity__person_links') }} as l
        on l.record_feed = 'pengurus' and l.record_key = o.officer_key
    where o.in_office_at_month_end and {{ only_refreshed_months('o.as_of') }}
),

participation as (
    select
        as_of,
        person_id,
        bool_or(is_active and has_jkk_jkm) as is_covered,
        min(kpj) as kpj
    from {{ ref('int_coverage__participant_months') }}
    where {{ only_refreshed_months() }}
    group by as_of, person_id
)

select
    o.as_of,
    o.nik_koperasi,
    o.person_id,
    o.peran,
    o.jabatan,
    o.regency_code,
    left(o.regency_code, 2) as province_code,
    o.link_rule,
    p.kpj,
    p.person_id is not null as is_registered,
    coalesce(p.is_covered, false) as is_covered,
    o.source_file,
    o.source_line
from officers as o
left join participation as p on p.as_of = o.as_of and p.person_id = o.person_id
