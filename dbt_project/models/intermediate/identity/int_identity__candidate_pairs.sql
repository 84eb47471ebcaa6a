-- Every participant a person record (officer post, UMKM owner, KUR borrower) could be, with how the
-- two compare (macros/comparisons.sql, name_agreement_level). Candidates come from two places:
--   token   the participant holds the record's NIK token;
--   blok    no participant with the token has a name that agrees (the NIK is blank, mistyped, or someone
--           else's), so participants born the same day in the same regency/city, or born the same day
--           with the same name anywhere, whose name agrees, are compared instead. A slip anywhere in
--           the NIK and a blank NIK are found this way; whether the NIK is a slip of the candidate's is
--           measured in the vault (vault.nik_distance), the plain NIK never leaves it. A NIK whose
--           birth-date part is impossible (`nik_bad_date`, on either side) is known to be mistyped: more
--           than one keystroke from the candidate's it is no evidence (nik_level NULL), not `beda`.
-- Scored in int_identity__person_links with the parameters of int_identity__match_parameters.
with records as (
    select record_feed, record_key, nik_token, coalesce(nik_bad_date, false) as nik_bad_date, tgl_lahir,
           regency_code, name_key
    from {{ ref('int_identity__person_records') }}
    where record_feed <> 'peserta'
),

participants as (
    select record_key as kpj, nik_token, coalesce(nik_bad_date, false) as nik_bad_date, tgl_lahir,
           regency_code, name_key
    from {{ ref('int_identity__person_records') }}
    where record_feed = 'peserta'
),

by_token as (
    select
        r.record_feed, r.record_key, p.kpj, r.nik_token, p.nik_token as participant_token,
        'token' as found_by,
        'sama' as nik_level,
        r.nik_bad_date or p.nik_bad_date as nik_bad_date,
        {{ name_agreement_level('p.name_key', 'r.name_key') }} as nama_level,
        {{ birth_date_level('p.tgl_lahir', 'r.tgl_lahir') }} as tgl_lahir_level,
        {{ region_level('p.regency_code', 'r.regency_code') }} as wilayah_level
    from records as r
    join participants as p on p.nik_token = r.nik_token
),

-- Records no participant with their token answers to by name.
unanswered as (
    select r.*
    from records as r
    where not exists (
        select 1 from by_token as t
        where t.record_feed = r.record_feed and t.record_key = r.record_key and t.nama_level in ('sama', 'setara')
    )
),

blocked as (
    select r.record_feed, r.record_key, p.kpj, r.nik_token, p.nik_token as participant_token,
           r.nik_bad_date or p.nik_bad_date as nik_bad_date,
           r.name_key, p.name_key as participant_name, r.tgl_lahir, p.tgl_lahir as participant_tgl_lahir,
           r.regency_code, p.regency_code as participant_regency
    from unanswered as r
    join participants as p
        on p.tgl_lahir = r.tgl_lahir and p.regency_code = r.regency_code
    where p.nik_token is distinct from r.nik_token
      -- cheap before the word-by-word agreement: a shared word, or similar letters
      and (string_to_array(p.name_key, ' ') && string_to_array(r.name_key, ' ') or similarity(p.name_key, r.name_key) >= 0.3)
    union
    select r.record_feed, r.record_key, p.kpj, r.nik_token, p.nik_token, r.nik_bad_date or p.nik_bad_date,
           r.name_key, p.name_key, r.tgl_lahir, p.tgl_lahir, r.regency_code, p.regency_code
    from unanswered as r
    join participants as p on p.tgl_lahir = r.tgl_lahir and p.name_key = r.name_key
    where p.nik_token is distinct from r.nik_token
),

by_block as (
    select * from (
        select
            record_feed, record_key, kpj, nik_token, participant_token,
            'blok' as found_by,
            {{ nik_level('nik_token', 'participant_token', 'nik_bad_date') }} as nik_level,
            nik_bad_date,
            {{ name_agreement_level('participant_name', 'name_key') }} as nama_level,
            {{ birth_date_level('participant_tgl_lahir', 'tgl_lahir') }} as tgl_lahir_level,
            {{ region_level('participant_regency', 'regency_code') }} as wilayah_level
        from blocked
    ) as compared
    -- without the NIK, only a name that agrees ties a record to a participant
    where nama_level in ('sama', 'setara')
)

select * from by_token
union all
select * from by_block
