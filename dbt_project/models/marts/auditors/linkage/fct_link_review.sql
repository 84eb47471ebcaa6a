-- The auditors' review queue ("Tinjauan tautan" on the dashboard): every uncertain link (`ragu`) and
-- conflict (`konflik`) with a candidate, and per feed a clerical sample of automatic links
-- (`sampel_tautan`) and of non-links that had a candidate (`sampel_bukan_tautan`), from which
-- fct_linkage_quality estimates precision and recall. Rows are the auditors' only (row-level security).
-- The sample is the first records of each feed and kind in the order of a hash of their key: a fixed
-- pseudo-random order, so a record stays in the sample from one build to the next until it is decided
-- (a decision changes its status in the next build and the next record in that order takes its place).
{{ config(meta={'auditors_only': true}) }}
{% set sample_size = var('link_review_sample_size', 20) %}
{#- The linkage model's match probability: `match_probability` in the agreed interface, `score` before. -#}
{%- set link_columns = adapter.get_columns_in_relation(ref('int_identity__person_links')) | map(attribute='name') | list
    if execute else [] %}
{%- set probability = 'score' if 'score' in link_columns and 'match_probability' not in link_columns
    else 'match_probability' %}
with links as (
    select
        l.*,
        case
            when l.status in ('ragu', 'konflik') then l.status
            when l.status = 'tertaut' and l.rule <> 'keputusan' then 'sampel_tautan'
            when l.status = 'tidak_ditemukan' then 'sampel_bukan_tautan'
        end as review_kind
    from {{ ref('int_identity__person_links') }} as l
    where l.candidate_kpj is not null
),

ranked as (
    select
        *,
        row_number() over (partition by record_feed, review_kind
                           order by md5('sampel|' || record_feed || '|' || record_key)) as sample_rank
    from links
    where review_kind is not null
),

participants as (
    select record_key as kpj, nik_token, load_id, source_line
    from {{ ref('int_identity__person_records') }}
    where record_feed = 'peserta'
)

select
    r.review_kind,
    r.record_feed,
    r.record_feed || '_peserta' as feed_pair,
    r.record_key,
    r.nik_token,
    r.candidate_kpj,
    p.nik_token as candidate_token,
    r.status,
    r.rule,
    r.{{ probability }} as match_probability,
    r.match_weight,
    r.evidence,
    r.regency_code,
    left(r.regency_code, 2) as province_code,
    r.last_seen,
    f.source_file,
    r.load_id,
    r.source_line,
    p.load_id as candidate_load_id,
    p.source_line as candidate_source_line,
    case when r.review_kind like 'sampel%' then r.sample_rank end as sample_rank
from ranked as r
left join participants as p on p.kpj = r.candidate_kpj
left join {{ ref('stg_audit__loads') }} as f on f.load_id = r.load_id
where r.review_kind in ('ragu', 'konflik') or r.sample_rank <= {{ sample_size }}
