-- Every record that names a person, as last delivered, with what identity resolution compares:
-- the NIK token, birth date, regency/city, normalised name and NIK halves (restricted schema).
-- Incremental: records of the refreshed months replace older versions of the same record.
{{ config(schema='restricted', materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['record_feed', 'record_key']) }}
-- depends_on: {{ ref('stg_audit__months_to_refresh') }}
with names as (
    select load_id, source_line, name_key, nik_prefix_hash, nik_serial from {{ ref('stg_vault__person_names') }}
    where {{ only_refreshed_months() }}
),

officers as (
    select
        'pengurus' as record_feed,
        o.officer_key as record_key,
        o.as_of, o.nik_token, o.tgl_lahir, c.regency_code, o.load_id, o.source_line
    from {{ ref('stg_kemenkop__officers') }} as o
    left join {{ ref('stg_kemenkop__cooperatives') }} as c
        on c.as_of = o.as_of and c.nik_koperasi = o.nik_koperasi
),

owners as (
    select 'umkm', nib, as_of, nik_token, tgl_lahir, regency_code, load_id, source_line
    from {{ ref('stg_kemenkop__umkm') }}
),

borrowers as (
    select 'kur', id_fasilitas, as_of, nik_token, tgl_lahir, regency_code, load_id, source_line
    from {{ ref('stg_himbara__kur_facilities') }}
),

participants as (
    select 'peserta', kpj, as_of, nik_token, tgl_lahir, regency_code, load_id, source_line
    from {{ ref('stg_bpjstk__participants') }}
),

records as (
    select * from officers
    union all select * from owners
    union all select * from borrowers
    union all select * from participants
)

select distinct on (r.record_feed, r.record_key)
    r.record_feed,
    r.record_key,
    r.as_of as last_seen,
    r.nik_token,
    r.tgl_lahir,
    r.regency_code,
    n.name_key,
    n.nik_prefix_hash,
    n.nik_serial,
    r.load_id,
    r.source_line
from records as r
left join names as n on n.load_id = r.load_id and n.source_line = r.source_line
where {{ only_refreshed_months('r.as_of') }}
{% if is_incremental() %}
  and not exists (
      select 1 from {{ this }} as t
      where t.record_feed = r.record_feed and t.record_key = r.record_key and t.last_seen > r.as_of
  )
{% endif %}
order by r.record_feed, r.record_key, r.as_of desc
