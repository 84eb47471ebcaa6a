-- Every record that names a person, as last delivered, with what identity resolution compares:
-- the NIK token (and whether its birth-date part is impossible), birth date, regency/city and
-- normalised name (restricted schema).
-- A build reads the records of the months it refreshes and keeps this table's rows of earlier months:
-- its cost follows the population, not the history. It is rewritten whole rather than updated in
-- place, because every monthly snapshot re-delivers nearly every participant. A record whose latest
-- version lay in a refreshed month (a corrected or failed batch) is looked up again in every month.
-- A version whose NIK has an impossible birth date (`nik_bad_date`, a typo) gives way to an earlier one
-- whose NIK is possible: the NIK a record is known by is its best one (int_coverage__participant_months
-- gives a participant's mistyped months the same token).
{{ config(schema='restricted') }}
-- depends_on: {{ ref('stg_audit__months_to_refresh') }}
{% set previous = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) %}
{% set keep_previous = previous is not none and not flags.FULL_REFRESH %}
{#- A table built before `nik_bad_date` existed holds only NIKs with a possible date (the loader set the
    others aside then): false for all of them. -#}
{% set has_flag = keep_previous and 'nik_bad_date' in (adapter.get_columns_in_relation(previous) | map(attribute='name') | list) %}
{% set refresh_from -%}
    (select coalesce(min(refresh_from), 'infinity') from {{ ref('stg_audit__months_to_refresh') }})
{%- endset %}
with
{%- if keep_previous %}
-- Columns named: a table built by an older version of this model may have others.
previous_versions as (
    select record_feed, record_key, last_seen, nik_token, {{ 'nik_bad_date' if has_flag else 'false as nik_bad_date' }},
           tgl_lahir, regency_code, name_key, load_id, source_line
    from {{ this }} where last_seen < {{ refresh_from }}
),

-- Records whose stored version is of a refreshed month: their latest version is searched again.
replaced as (
    select record_feed, record_key from {{ this }} where last_seen >= {{ refresh_from }}
),
{% endif %}

officers as (
    select
        'pengurus' as record_feed,
        o.officer_key as record_key,
        o.as_of, o.nik_token, o.nik_bad_date, o.tgl_lahir, c.regency_code, o.load_id, o.source_line
    from {{ ref('stg_kemenkop__officers') }} as o
    left join {{ ref('stg_kemenkop__cooperatives') }} as c
        on c.as_of = o.as_of and c.nik_koperasi = o.nik_koperasi
),

owners as (
    select 'umkm', nib, as_of, nik_token, nik_bad_date, tgl_lahir, regency_code, load_id, source_line
    from {{ ref('stg_kemenkop__umkm') }}
),

borrowers as (
    select 'kur', id_fasilitas, as_of, nik_token, nik_bad_date, tgl_lahir, regency_code, load_id, source_line
    from {{ ref('stg_himbara__kur_facilities') }}
),

participants as (
    select 'peserta', kpj, as_of, nik_token, nik_bad_date, tgl_lahir, regency_code, load_id, source_line
    from {{ ref('stg_bpjstk__participants') }}
),

records as (
    select * from officers
    union all select * from owners
    union all select * from borrowers
    union all select * from participants
),

new_records as (
    select * from records
    {%- if keep_previous %}
    where as_of >= {{ refresh_from }}
       or (record_feed, record_key) in (select record_feed, record_key from replaced)
    {%- endif %}
),

refreshed as (
    select distinct on (r.record_feed, r.record_key)
        r.record_feed,
        r.record_key,
        r.as_of as last_seen,
        r.nik_token,
        r.nik_bad_date,
        r.tgl_lahir,
        r.regency_code,
        n.name_key,
        r.load_id,
        r.source_line
    from new_records as r
    left join {{ ref('stg_vault__person_names') }} as n
        on n.load_id = r.load_id and n.source_line = r.source_line
        -- the names of the months read, not of every month
        and n.as_of >= (select min(as_of) from new_records)
    order by r.record_feed, r.record_key, r.nik_bad_date, r.as_of desc, r.load_id desc
)

select r.* from refreshed as r
{%- if keep_previous %}
where not (r.nik_bad_date and exists (
    select 1 from previous_versions as p
    where p.record_feed = r.record_feed and p.record_key = r.record_key and not p.nik_bad_date))
union all
select p.* from previous_versions as p
where not exists (
    select 1 from refreshed as r
    where r.record_feed = p.record_feed and r.record_key = p.record_key and (p.nik_bad_date or not r.nik_bad_date))
{%- endif %}
