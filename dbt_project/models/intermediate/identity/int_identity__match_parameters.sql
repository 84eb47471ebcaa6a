-- The Fellegi–Sunter parameters of person matching, estimated on this build's data. For each comparison
-- level: m = P(level | same person), u = P(level | two different people), and the match weight
-- log2(m / u) a candidate pair gains from it. Counts are smoothed by one per level (Laplace), so a level
-- never seen is improbable, not impossible.
--   m  for name, birth date and region: pairs that share a NIK token (the same person, but for the rare
--      conflicts); for the NIK: pairs whose name, birth date and regency/city all agree (`sama`).
--   u  for name, birth date and region: pairs of two participants drawn at random (each with the next
--      in a fixed pseudo-random order); for the NIK: a sample of participants, each with every other
--      participant born the same day in the same regency/city. The NIK's own digits encode birth date and district, so its evidence is
--      counted only beyond what birth date and region already said (not twice).
-- The row `prior` holds the odds that a record and a participant drawn at random are one person: records
-- that a participant answers to by token and name, over records × participants.
{% set sample = var('person_match_u_sample') %}
with candidates as (
    select * from {{ ref('int_identity__candidate_pairs') }}
),

participants as (
    select record_key as kpj, nik_token, tgl_lahir, regency_code, name_key
    from {{ ref('int_identity__person_records') }}
    where record_feed = 'peserta'
),

-- A fixed pseudo-random sample of participants (the same data gives the same sample).
sampled as (
    select * from participants order by md5(kpj) limit {{ 2 * sample }}
),

random_pairs as (
    select
        {{ name_agreement_level('a.name_key', 'a.next_name') }} as nama_level,
        {{ birth_date_level('a.tgl_lahir', 'a.next_tgl_lahir') }} as tgl_lahir_level,
        {{ region_level('a.regency_code', 'a.next_regency') }} as wilayah_level
    from (
        select s.*,
               lead(nik_token) over w as next_token, lead(name_key) over w as next_name,
               lead(tgl_lahir) over w as next_tgl_lahir, lead(regency_code) over w as next_regency
        from sampled as s
        window w as (order by md5(kpj))
    ) as a
    where a.next_token is not null and a.next_token <> a.nik_token
),

block_pairs as (
    select {{ nik_level('a.nik_token', 'b.nik_token') }} as nik_level
    from (select * from sampled order by md5(kpj) limit {{ sample }}) as a
    join participants as b on b.tgl_lahir = a.tgl_lahir and b.regency_code = a.regency_code
    where b.nik_token <> a.nik_token
),

observed as (
    select 'nama' as comparison, nama_level as level, 'm' as side from candidates where nik_level = 'sama'
    union all select 'tgl_lahir', tgl_lahir_level, 'm' from candidates where nik_level = 'sama'
    union all select 'wilayah', wilayah_level, 'm' from candidates where nik_level = 'sama'
    union all select 'nik', nik_level, 'm' from candidates
        where nama_level = 'sama' and tgl_lahir_level = 'sama' and wilayah_level = 'sama'
    union all select 'nama', nama_level, 'u' from random_pairs
    union all select 'tgl_lahir', tgl_lahir_level, 'u' from random_pairs
    union all select 'wilayah', wilayah_level, 'u' from random_pairs
    union all select 'nik', nik_level, 'u' from block_pairs
),

levels (comparison, level, description) as (
    values
        ('nama', 'sama', 'the normalised names are the same'),
        ('nama', 'setara', 'every word of the shorter name is in the longer (order, titles, spellings aside)'),
        ('nama', 'mirip', 'similar letters (trigram similarity) but the words do not agree'),
        ('nama', 'beda', 'different names'),
        ('tgl_lahir', 'sama', 'the same birth date'),
        ('tgl_lahir', 'mirip', 'one of day, month or year differs, or day and month swapped'),
        ('tgl_lahir', 'beda', 'different birth dates'),
        ('wilayah', 'sama', 'the same regency/city'),
        ('wilayah', 'provinsi', 'another regency/city of the same province'),
        ('wilayah', 'beda', 'another province'),
        ('nik', 'sama', 'the same NIK'),
        ('nik', 'salah_ketik', 'NIKs one keystroke apart (one digit, or two swapped)'),
        ('nik', 'beda', 'NIKs two or more digits apart')
),

counted as (
    select
        l.comparison, l.level, l.description,
        count(o.level) filter (where o.side = 'm') as m_count,
        count(o.level) filter (where o.side = 'u') as u_count
    from levels as l
    left join observed as o on o.comparison = l.comparison and o.level = l.level
    group by l.comparison, l.level, l.description
),

estimated as (
    select
        comparison, level, description, m_count, u_count,
        (m_count + 1)::float8 / (sum(m_count) over (partition by comparison) + count(*) over (partition by comparison)) as m_probability,
        (u_count + 1)::float8 / (sum(u_count) over (partition by comparison) + count(*) over (partition by comparison)) as u_probability
    from counted
),

prior as (
    select
        (select count(distinct (record_feed, record_key)) from candidates
         where nik_level = 'sama' and nama_level in ('sama', 'setara'))::float8 as matches,
        (select count(*) from {{ ref('int_identity__person_records') }} where record_feed <> 'peserta')::float8
        * (select count(*) from participants)::float8 as pairs
)

select
    comparison, level, description, m_count, u_count,
    m_probability::numeric(12, 10) as m_probability,
    u_probability::numeric(12, 10) as u_probability,
    (ln(m_probability / u_probability) / ln(2))::numeric(8, 3) as match_weight
from estimated
union all
select
    'prior', 'semua', 'odds that a record and a random participant are one person',
    matches::bigint, pairs::bigint, null, null,
    (ln(greatest(matches, 1) / greatest(pairs - matches, 1)) / ln(2))::numeric(8, 3)
from prior
