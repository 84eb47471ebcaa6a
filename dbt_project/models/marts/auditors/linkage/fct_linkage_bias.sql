-- The linkage quality report's bias check: the share of a month's records linked to a participant, by
-- sex, age band and region, beside the share of all records of that month, feed pair and scope. A lower
-- rate for a group (women, the young, a regency) means the linkage misses them more, and the metrics that
-- read the links undercount them. Scope: a province (region = its regencies/cities) or the nation
-- (province_code `ID`, region = provinces).
with monthly as (
    select as_of, 'pengurus' as record_feed, officer_key as record_key, load_id, source_line, jenis_kelamin, tgl_lahir
    from {{ ref('stg_kemenkop__officers') }}
    union all
    select as_of, 'umkm', nib, load_id, source_line, null, tgl_lahir from {{ ref('stg_kemenkop__umkm') }}
    union all
    select as_of, 'kur', id_fasilitas, load_id, source_line, null, tgl_lahir from {{ ref('stg_himbara__kur_facilities') }}
),

records as (
    select
        m.as_of,
        m.record_feed,
        l.regency_code,
        left(l.regency_code, 2) as province_code,
        l.status = 'tertaut' as is_linked,
        -- the NIK's day digits say the sex; the officers' feed also has a column for it
        coalesce(s.nik_sex, m.jenis_kelamin, 'tidak diketahui') as sex,
        case
            when m.tgl_lahir is null then 'tidak diketahui'
            when age((m.as_of + interval '1 month' - interval '1 day')::date, m.tgl_lahir) < interval '25 years' then '<25'
            when age((m.as_of + interval '1 month' - interval '1 day')::date, m.tgl_lahir) < interval '35 years' then '25-34'
            when age((m.as_of + interval '1 month' - interval '1 day')::date, m.tgl_lahir) < interval '45 years' then '35-44'
            when age((m.as_of + interval '1 month' - interval '1 day')::date, m.tgl_lahir) < interval '55 years' then '45-54'
            else '55+'
        end as age_band
    from monthly as m
    join {{ ref('int_identity__person_links') }} as l
        on l.record_feed = m.record_feed and l.record_key = m.record_key
    left join {{ ref('stg_vault__person_sex') }} as s
        on s.load_id = m.load_id and s.source_line = m.source_line
),

groups as (
    select r.as_of, r.record_feed, r.province_code, g.dimension, g.grp, r.is_linked
    from records as r
    cross join lateral (values ('jenis_kelamin', r.sex), ('kelompok_usia', r.age_band),
                               ('wilayah', coalesce(r.regency_code, 'tidak diketahui'))) as g (dimension, grp)
    union all
    select r.as_of, r.record_feed, 'ID', g.dimension, g.grp, r.is_linked
    from records as r
    cross join lateral (values ('jenis_kelamin', r.sex), ('kelompok_usia', r.age_band),
                               ('wilayah', coalesce(r.province_code, 'tidak diketahui'))) as g (dimension, grp)
),

rates as (
    select
        as_of,
        record_feed,
        province_code,
        dimension,
        grp,
        count(*) as records,
        count(*) filter (where is_linked) as linked,
        sum(count(*)) over scope as scope_records,
        sum(count(*) filter (where is_linked)) over scope as scope_linked
    from groups
    group by as_of, record_feed, province_code, dimension, grp
    window scope as (partition by as_of, record_feed, province_code, dimension)
)

select
    as_of,
    record_feed || '_peserta' as feed_pair,
    record_feed,
    province_code,
    dimension,
    grp as group_value,
    records,
    linked,
    round(linked::numeric / records, 6) as link_rate,
    round(scope_linked::numeric / scope_records, 6) as scope_link_rate,
    round(linked::numeric / records - scope_linked::numeric / scope_records, 6) as difference
from rates
