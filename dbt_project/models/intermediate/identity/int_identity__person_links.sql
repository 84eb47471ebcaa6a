-- Each person record linked to a BPJS Ketenagakerjaan participant, and how:
--   nik                    same NIK token (birth date or name agree);
--   nama_tgl_lahir_wilayah no participant has the token, but exactly one has the same birth date,
--                          regency/city and NIK district-and-birth digits, a NIK serial at most two
--                          edits away (a slip of the keyboard) and a similar name (trigram similarity
--                          = score) whose words agree (names_agree). Same name and birth date alone are
--                          not enough: namesakes born on the same day live in the same regency.
--   konflik                same token, but birth date and name both differ: reported, never linked;
--   tidak_ditemukan        no participant found.
-- `person_id` is the participant's token when linked, else the record's own token.
{% set min_similarity = var('person_name_min_similarity') %}
with records as (
    select * from {{ ref('int_identity__person_records') }} where record_feed <> 'peserta'
),

participants as (
    select record_key as kpj, nik_token, tgl_lahir, regency_code, name_key, nik_prefix_hash, nik_serial
    from {{ ref('int_identity__person_records') }}
    where record_feed = 'peserta'
),

by_token as (
    select distinct on (r.record_feed, r.record_key)
        r.record_feed,
        r.record_key,
        p.kpj,
        p.nik_token as person_id,
        case
            when p.tgl_lahir is distinct from r.tgl_lahir
                 and coalesce(similarity(p.name_key, r.name_key), 0) < {{ min_similarity }}
                then 'konflik'
            else 'nik'
        end as rule,
        coalesce(similarity(p.name_key, r.name_key), 0)::numeric(4, 3) as score
    from records as r
    join participants as p on p.nik_token = r.nik_token
    order by r.record_feed, r.record_key, (p.tgl_lahir = r.tgl_lahir) desc, similarity(p.name_key, r.name_key) desc
),

by_name_candidates as (
    select
        r.record_feed,
        r.record_key,
        p.kpj,
        p.nik_token as person_id,
        similarity(p.name_key, r.name_key) as score
    from records as r
    join participants as p
        on p.tgl_lahir = r.tgl_lahir
        and p.regency_code = r.regency_code
        and p.nik_prefix_hash = r.nik_prefix_hash
    where levenshtein(p.nik_serial, r.nik_serial) <= 2
      and not exists (select 1 from participants as t where t.nik_token = r.nik_token)
      and similarity(p.name_key, r.name_key) >= {{ min_similarity }}
      -- A correct NIK with no participant means "not covered": only a name that agrees word for word
      -- (macros/name_agreement.sql) says the NIK itself was mistyped, not that a neighbour born the
      -- same day shares a family name.
      and {{ names_agree('p.name_key', 'r.name_key') }}
),

by_name as (
    select
        record_feed,
        record_key,
        kpj,
        person_id,
        'nama_tgl_lahir_wilayah' as rule,
        score::numeric(4, 3) as score
    from (
        select
            c.*,
            row_number() over (partition by record_feed, record_key order by score desc, kpj) as nth,
            count(*) over (partition by record_feed, record_key, score) as ties
        from by_name_candidates as c
    ) as ranked
    where nth = 1 and ties = 1
),

linked as (
    select * from by_token
    union all
    select * from by_name
)

select
    r.record_feed,
    r.record_key,
    r.nik_token,
    case when l.rule in ('nik', 'nama_tgl_lahir_wilayah') then l.person_id else r.nik_token end as person_id,
    case when l.rule in ('nik', 'nama_tgl_lahir_wilayah') then l.kpj end as kpj,
    coalesce(l.rule, 'tidak_ditemukan') as rule,
    l.score,
    r.last_seen,
    r.load_id,
    r.source_line
from records as r
left join linked as l on l.record_feed = r.record_feed and l.record_key = r.record_key
