-- Each person record (officer post, UMKM owner, KUR borrower) and the BPJS Ketenagakerjaan participant
-- it is, decided by the weight of the evidence (Fellegi–Sunter): each candidate pair of
-- int_identity__candidate_pairs adds up the match weights of its comparison levels
-- (int_identity__match_parameters) to the prior odds; `score` is the resulting match probability.
--   tertaut          the best candidate reaches var('person_match_link_probability'), no other
--                    participant comes near it (var('person_match_review_probability')), and its NIK is
--                    not two keystrokes or more from the record's (a correct NIK that no participant
--                    holds means "not covered", however alike name, birth date and region); its `rule`
--                    says what tied them: `nik` (same NIK), `nik_salah_ketik` (NIK one keystroke off),
--                    `nama_tgl_lahir_wilayah` (no usable NIK: blank, or with an impossible birth-date
--                    part and not one keystroke off: name, birth date and region), or `keputusan`
--                    (an auditor accepted the pair);
--   ragu             the best candidate is likely but not sure, or two participants are: the auditors'
--                    review queue; never counted as covered;
--   konflik          a participant holds the record's NIK under a different name, whatever the birth
--                    date, and nobody else answers: never linked, never counted as covered;
--   tidak_ditemukan  no participant is likely.
-- An auditor's decision (stg_audit__link_decisions) wins: `tolak` removes that candidate, `terima` links it.
-- `person_id` is the participant's token when linked; otherwise the record's own token, prefixed
-- `konflik:` where that token is a participant's, so that no mart can count the record as covered; a
-- record without a NIK (blank) is its own person, `tanpa_nik:<feed>:<key>`: counted wherever persons are
-- counted (K2's officers in office, Q1's borrowers), and never covered.
{% set link_p = var('person_match_link_probability') %}
{% set review_p = var('person_match_review_probability') %}
with records as (
    select * from {{ ref('int_identity__person_records') }} where record_feed <> 'peserta'
),

parameters as (
    select comparison, level, match_weight from {{ ref('int_identity__match_parameters') }}
),

decisions as (
    select record_feed, record_key, kpj, decision from {{ ref('stg_audit__link_decisions') }}
),

scored as (
    select
        c.*,
        d.decision,
        (select match_weight from parameters where comparison = 'prior')
        + coalesce(n.match_weight, 0) + coalesce(m.match_weight, 0)
        + coalesce(b.match_weight, 0) + coalesce(w.match_weight, 0) as match_weight,
        c.nik_level = 'sama' and c.nama_level = 'beda' as is_conflict
    from {{ ref('int_identity__candidate_pairs') }} as c
    left join parameters as n on n.comparison = 'nik' and n.level = c.nik_level
    left join parameters as m on m.comparison = 'nama' and m.level = c.nama_level
    left join parameters as b on b.comparison = 'tgl_lahir' and b.level = c.tgl_lahir_level
    left join parameters as w on w.comparison = 'wilayah' and w.level = c.wilayah_level
    left join decisions as d on d.record_feed = c.record_feed and d.record_key = c.record_key and d.kpj = c.kpj
    where d.decision is distinct from 'tolak'
),

weighed as (
    select
        s.*,
        case when decision = 'terima' then 1
             when is_conflict then 0
             else 1 / (1 + power(2::float8, -match_weight::float8)) end as probability
    from scored as s
),

-- First an accepted pair, then a likely one, then a conflict (reported as such), then the heaviest.
ranked as (
    select
        w.*,
        row_number() over (
            partition by record_feed, record_key
            order by decision = 'terima' desc nulls last, probability >= {{ review_p }} desc, is_conflict desc,
                     match_weight desc, kpj) as nth
    from weighed as w
),

-- The most likely other person (another participant token) for each record's best candidate.
rivals as (
    select b.record_feed, b.record_key, max(o.probability) as rival
    from ranked as b
    join ranked as o
        on o.record_feed = b.record_feed and o.record_key = b.record_key
        and o.participant_token is distinct from b.participant_token and not o.is_conflict
    where b.nth = 1
    group by b.record_feed, b.record_key
),

best as (
    select b.*, r.rival
    from ranked as b
    left join rivals as r on r.record_feed = b.record_feed and r.record_key = b.record_key
    where b.nth = 1
),

-- Records whose own token is a participant's.
held_tokens as (
    select distinct record_feed, record_key
    from {{ ref('int_identity__candidate_pairs') }}
    where found_by = 'token'
),

decided as (
    select
        b.*,
        case
            when b.decision = 'terima' then 'tertaut'
            when b.is_conflict then 'konflik'
            -- A valid NIK two keystrokes or more from the candidate's says the record is someone else:
            -- however alike the rest, the pair is for an auditor to accept (issue: correct NIK = not covered).
            when b.probability >= {{ link_p }} and coalesce(b.rival, 0) < {{ review_p }}
                 and b.nik_level is distinct from 'beda' then 'tertaut'
            when b.probability >= {{ review_p }} then 'ragu'
            else 'tidak_ditemukan'
        end as status
    from best as b
)

select
    r.record_feed,
    r.record_key,
    r.nik_token,
    case
        when d.status = 'tertaut' then d.participant_token
        when h.record_key is not null then 'konflik:' || r.nik_token
        when r.nik_token is null then 'tanpa_nik:' || r.record_feed || ':' || r.record_key
        else r.nik_token
    end as person_id,
    case when d.status = 'tertaut' then d.kpj end as kpj,
    d.kpj as candidate_kpj,
    coalesce(d.status, 'tidak_ditemukan') as status,
    case
        when d.status is null then 'tidak_ditemukan'
        when d.status <> 'tertaut' then d.status
        when d.decision = 'terima' then 'keputusan'
        when d.nik_level = 'sama' then 'nik'
        when d.nik_level = 'salah_ketik' then 'nik_salah_ketik'
        else 'nama_tgl_lahir_wilayah'
    end as rule,
    d.probability::numeric(6, 5) as score,
    d.match_weight::numeric(8, 3) as match_weight,
    case when d.kpj is not null then
        concat_ws(' ', 'nik=' || coalesce(d.nik_level, case when d.nik_bad_date then 'tanggal_mustahil' else 'kosong' end),
                  'nama=' || coalesce(d.nama_level, 'kosong'),
                  'tgl_lahir=' || coalesce(d.tgl_lahir_level, 'kosong'), 'wilayah=' || coalesce(d.wilayah_level, 'kosong'))
    end as evidence,
    r.regency_code,
    r.last_seen,
    r.load_id,
    r.source_line
from records as r
left join decided as d on d.record_feed = r.record_feed and d.record_key = r.record_key
left join held_tokens as h on h.record_feed = r.record_feed and h.record_key = r.record_key
