-- The monthly linkage quality report: per month, feed pair (officers, UMKM owners, KUR borrowers ↔ BPJS
-- Ketenagakerjaan participants), sender and province, how the month's records fared in identity resolution
-- as it stands after this build, with precision and recall estimated from the auditors' review decisions
-- (the estimator: see the model's description in _identity__marts.yml). A national row per month and
-- feed pair has sender and unit `semua` and province_code `ID`.
with monthly as (
    select as_of, 'pengurus' as record_feed, officer_key as record_key, load_id
    from {{ ref('stg_kemenkop__officers') }}
    union all
    select as_of, 'umkm', nib, load_id from {{ ref('stg_kemenkop__umkm') }}
    union all
    select as_of, 'kur', id_fasilitas, load_id from {{ ref('stg_himbara__kur_facilities') }}
),

decisions as (
    select * from {{ ref('stg_audit__link_decisions') }}
),

records as (
    select
        m.as_of,
        m.record_feed,
        f.sender,
        f.unit,
        left(l.regency_code, 2) as province_code,
        l.status,
        l.rule,
        l.candidate_kpj is not null as has_candidate,
        d.decision is not null as is_decided
    from monthly as m
    join {{ ref('int_identity__person_links') }} as l
        on l.record_feed = m.record_feed and l.record_key = m.record_key
    join {{ ref('stg_audit__loads') }} as f on f.load_id = m.load_id
    left join decisions as d
        on d.record_feed = l.record_feed and d.record_key = l.record_key and d.kpj = l.candidate_kpj
),

counts as (
    select
        as_of,
        record_feed,
        case when grouping(sender) = 1 then 'semua' else sender end as sender,
        case when grouping(unit) = 1 then 'semua' else unit end as unit,
        case when grouping(province_code) = 1 then 'ID' else province_code end as province_code,
        count(*) as records,
        count(*) filter (where status = 'tertaut') as linked,
        count(*) filter (where status = 'tertaut' and rule = 'keputusan') as linked_by_decision,
        count(*) filter (where status = 'konflik') as conflicts,
        count(*) filter (where status = 'ragu') as uncertain,
        count(*) filter (where status = 'tidak_ditemukan') as not_found,
        count(*) filter (where status in ('ragu', 'konflik') and not is_decided) as open_queue,
        count(*) filter (where status = 'tidak_ditemukan' and has_candidate and not is_decided) as open_non_links
    from records
    group by grouping sets ((as_of, record_feed, sender, unit, province_code), (as_of, record_feed))
),

-- Per feed pair, pooled over months and regions (decisions are few): the share of `terima` among the
-- latest decisions on each review kind.
rates as (
    select
        record_feed,
        count(*) filter (where review_kind = 'sampel_tautan') as n_links,
        avg((decision = 'terima')::int) filter (where review_kind = 'sampel_tautan') as accepted_links,
        count(*) filter (where review_kind in ('ragu', 'konflik')) as n_queue,
        avg((decision = 'terima')::int) filter (where review_kind in ('ragu', 'konflik')) as accepted_queue,
        count(*) filter (where review_kind = 'sampel_bukan_tautan') as n_non_links,
        avg((decision = 'terima')::int) filter (where review_kind = 'sampel_bukan_tautan') as accepted_non_links
    from decisions
    group by record_feed
),

estimated as (
    select
        c.*,
        coalesce(r.n_links, 0) as n_links,
        coalesce(r.n_links, 0) + coalesce(r.n_queue, 0) + coalesce(r.n_non_links, 0) as n_all,
        -- links that are right: the auditors' own, and the automatic ones at the sample's acceptance rate
        c.linked_by_decision + case when c.linked = c.linked_by_decision then 0
                                    else (c.linked - c.linked_by_decision) * r.accepted_links end as right_links,
        -- links missed: the open queue and the open non-links with a candidate, each at its acceptance rate
        case when c.open_queue = 0 then 0 else c.open_queue * r.accepted_queue end
            + case when c.open_non_links = 0 then 0 else c.open_non_links * r.accepted_non_links end as missed_links
    from counts as c
    left join rates as r on r.record_feed = c.record_feed
)

select
    as_of,
    record_feed || '_peserta' as feed_pair,
    record_feed,
    sender,
    unit,
    province_code,
    records,
    linked,
    linked_by_decision,
    conflicts,
    uncertain,
    not_found,
    round(linked::numeric / nullif(records, 0), 6) as linked_share,
    round(conflicts::numeric / nullif(records, 0), 6) as conflict_share,
    round(uncertain::numeric / nullif(records, 0), 6) as uncertain_share,
    open_queue,
    open_non_links,
    round(right_links / nullif(linked, 0), 6) as precision_estimate,
    n_links as precision_decisions,
    round(right_links / nullif(right_links + missed_links, 0), 6) as recall_estimate,
    n_all as recall_decisions
from estimated
