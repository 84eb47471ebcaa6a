-- depends_on: {{ source('audit', 'link_decision') }}
-- The auditors' latest decision per (record feed, record, participant): what the linkage model obeys.
-- A warehouse whose ledger predates the decisions table (no load since the upgrade) has no decisions yet.
{%- set decisions = adapter.get_relation(database=target.database, schema='audit', identifier='link_decision') if execute else none %}
{%- if decisions is not none %}
select distinct on (record_feed, record_key, kpj)
    record_feed,
    record_key,
    kpj,
    decision,
    decided_by,
    decided_at,
    decision_id,
    review_kind
from {{ source('audit', 'link_decision') }}
order by record_feed, record_key, kpj, decision_id desc
{%- else %}
select null::text as record_feed, null::text as record_key, null::text as kpj, null::text as decision,
    null::text as decided_by, null::timestamptz as decided_at, null::bigint as decision_id,
    null::text as review_kind
where false
{%- endif %}
