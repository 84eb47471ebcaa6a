"""The linkage quality section of the auditors' report (issue 17): per feed pair, sender and province,
how the month's person records were linked, the precision and recall estimated from the auditors' review
decisions, the bias check, and (for a role that reads the ledger) the decisions in force: the latest per
record and participant."""
from __future__ import annotations

QUALITY = """
select q.feed_pair, q.sender, q.unit, q.province_code, r.region_name, q.records, q.linked, q.linked_by_decision,
    q.conflicts, q.uncertain, q.not_found, q.linked_share, q.precision_estimate, q.precision_decisions,
    q.recall_estimate, q.recall_decisions
from marts.fct_linkage_quality as q
left join marts.dim_region as r on r.region_code = q.province_code
where q.as_of = to_date(%(bulan)s, 'YYYY-MM')
order by q.province_code <> 'ID', q.feed_pair, q.sender, q.unit, q.province_code
"""
# Sex and age bands nationally, and per feed pair the ten regions linked least often against the nation.
BIAS = """
select feed_pair, dimension, group_value, region_name, records, linked, link_rate, scope_link_rate,
    round(difference * 100, 1) as difference_points
from (
    select b.*, r.region_name,
        row_number() over (partition by b.feed_pair, b.dimension order by b.difference, b.group_value) as nth
    from marts.fct_linkage_bias as b
    left join marts.dim_region as r on r.region_code = b.group_value
    where b.as_of = to_date(%(bulan)s, 'YYYY-MM') and b.province_code = 'ID'
) as ranked
where dimension <> 'wilayah' or nth <= 10
order by feed_pair, dimension, case when dimension = 'wilayah' then difference end, replace(group_value, '<', '0')
"""
DECISIONS = """
select record_feed, coalesce(review_kind, 'lain') as review_kind, decision, count(*) as n
from (
    select distinct on (record_feed, record_key, kpj) record_feed, review_kind, decision
    from audit.link_decision
    order by record_feed, record_key, kpj, decision_id desc
) as latest
group by 1, 2, 3
order by 1, 2, 3
"""


def gather(rows, reads_decisions: bool, bulan: str) -> dict:
    """The section's data, read with the report's reader (`rows(query, **params)`)."""
    quality = rows(QUALITY, bulan=bulan)
    return {
        "national": [r for r in quality if r["province_code"] == "ID"],
        "detail": [r for r in quality if r["province_code"] != "ID"],
        "bias": rows(BIAS, bulan=bulan),
        "decisions": rows(DECISIONS) if reads_decisions else None,
    }
