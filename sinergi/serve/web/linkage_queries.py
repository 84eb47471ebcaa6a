"""The SQL behind the linkage pages: the auditors' review queue ("Tinjauan tautan") and the monthly
linkage quality report ("Mutu tautan"). Parameters are always bound (`%(name)s`)."""
from __future__ import annotations

# The queue with the record's and the candidate's names as delivered (auditors: vault.record_name, by
# token, batch and line) and the latest decision so far.
REVIEW = """
select q.review_kind, q.record_feed, q.record_key, q.candidate_kpj, q.status, q.rule, q.match_probability,
    q.match_weight, q.evidence, q.regency_code, g.region_name as wilayah, q.last_seen, q.source_file,
    q.source_line, left(q.nik_token, 12) as token, left(q.candidate_token, 12) as candidate_token,
    vault.record_name(q.nik_token, q.load_id, q.source_line) as nama,
    vault.record_name(q.candidate_token, q.candidate_load_id, q.candidate_source_line) as nama_kandidat,
    d.decision, d.decided_by, d.decided_at, d.note
from marts.fct_link_review as q
left join marts.dim_region as g on g.region_code = q.regency_code
left join lateral (
    select decision, decided_by, decided_at, note from audit.link_decision as d
    where d.record_feed = q.record_feed and d.record_key = q.record_key and d.kpj = q.candidate_kpj
    order by d.decision_id desc limit 1) as d on true
where (%(jenis)s::text is null or q.review_kind = %(jenis)s)
  and (%(umpan)s::text is null or q.record_feed = %(umpan)s)
order by d.decision is not null, case q.review_kind when 'konflik' then 1 when 'ragu' then 2
    when 'sampel_tautan' then 3 else 4 end, q.record_feed, q.match_probability desc nulls last, q.record_key
limit %(limit)s
"""

REVIEW_COUNTS = """
select q.review_kind, q.record_feed, count(*) as entri, count(d.decision_id) as diputuskan
from marts.fct_link_review as q
left join lateral (
    select decision_id from audit.link_decision as d
    where d.record_feed = q.record_feed and d.record_key = q.record_key and d.kpj = q.candidate_kpj
    limit 1) as d on true
group by q.review_kind, q.record_feed
order by q.review_kind, q.record_feed
"""

# The entry a decision is about, as the auditor's role sees it (a decision on anything else is refused).
REVIEW_ENTRY = """
select review_kind from marts.fct_link_review
where record_feed = %(record_feed)s and record_key = %(record_key)s and candidate_kpj = %(kpj)s
"""

DECIDE = """
insert into audit.link_decision (record_feed, record_key, kpj, decision, note, decided_by, review_kind)
values (%(record_feed)s, %(record_key)s, %(kpj)s, %(decision)s, %(note)s, %(decided_by)s, %(review_kind)s)
returning decision_id
"""

QUALITY = """
select q.*, r.region_name
from marts.fct_linkage_quality as q
left join marts.dim_region as r on r.region_code = q.province_code
where q.as_of = to_date(%(bulan)s, 'YYYY-MM')
  and case when %(provinsi)s::text is null then true
           else q.province_code = %(provinsi)s end
order by q.province_code <> 'ID', q.feed_pair, q.sender, q.unit, q.province_code
"""

BIAS = """
select b.feed_pair, b.dimension, b.group_value, r.region_name, b.records, b.linked, b.link_rate,
    b.scope_link_rate, round(b.difference * 100, 1) as difference_points
from marts.fct_linkage_bias as b
left join marts.dim_region as r on r.region_code = b.group_value
where b.as_of = to_date(%(bulan)s, 'YYYY-MM') and b.province_code = %(cakupan)s
order by b.feed_pair, b.dimension, case when b.dimension = 'wilayah' then b.difference end,
    replace(b.group_value, '<', '0')
"""
