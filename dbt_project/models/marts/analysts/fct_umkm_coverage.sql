-- K6: each business in the month's UMKM registry and whether its owner is an active participant.
{{ month_incremental_config() }}
with active_persons as (
    select distinct as_of, person_id
    from {{ ref('int_coverage__participant_months') }}
    where is_active and {{ only_refreshed_months() }}
)

select
    u.as_of,
    u.nib,
    u.skala_usaha,
    l.person_id,
    l.rule as link_rule,
    a.person_id is not null as is_covered,
    u.regency_code,
    left(u.regency_code, 2) as province_code,
    u.source_file,
    u.source_line
from {{ ref('stg_kemenkop__umkm') }} as u
join {{ ref('int_identity__person_links') }} as l on l.record_feed = 'umkm' and l.record_key = u.nib
left join active_persons as a on a.as_of = u.as_of and a.person_id = l.person_id
where {{ only_refreshed_months('u.as_of') }}
