-- The months this build computes: from the earliest month whose inputs changed since the last build
-- onwards (later months read earlier ones: letters, borrowers so far). A month's inputs are its usable
-- batches; they change when a file arrives, or when one is superseded or fails its checks, or when a
-- month loses them all (then it is listed with no batches, and emptied), and every month changes when an
-- auditor decided a link (identity is global). First build: everything.
-- `published.fct_build_inputs` holds what each build read; it is looked up by name, not ref'd,
-- because it is written at the end of this same build.
-- depends_on: {{ ref('stg_audit__link_decisions') }}
{% set previous = adapter.get_relation(database=target.database, schema='published', identifier='fct_build_inputs') %}
with current_inputs as (
    select to_date(left(period, 6), 'YYYYMM') as as_of, array_agg(load_id order by load_id) as load_ids
    from {{ source('audit', 'load') }}
    where status = 'loaded' and quality in {{ accepted_quality() }}
    group by 1
),

{% if previous is not none %}
previous_inputs as (
    select distinct on (as_of) as_of, load_ids from {{ previous }} order by as_of, recorded_at desc
),

changed as (
    select coalesce(c.as_of, p.as_of) as as_of
    from current_inputs as c
    full join previous_inputs as p on p.as_of = c.as_of
    where coalesce(c.load_ids, '{}') <> coalesce(p.load_ids, '{}')
    union all
    -- An auditor's link decision since the last build started can move any month a person appears in.
    select '-infinity'::date
    where (select max(decided_at) from {{ ref('stg_audit__link_decisions') }})
          > (select max(recorded_at) from {{ previous }})
),
{% else %}
changed as (
    select '-infinity'::date as as_of
),
{% endif %}

plan as (
    select min(as_of) as refresh_from from changed
),

months as (
    select as_of, load_ids from current_inputs
    {% if previous is not none %}
    union all
    -- A month that had batches and has none left is recorded as empty.
    select p.as_of, '{}'::bigint[] from previous_inputs as p
    where not exists (select 1 from current_inputs as c where c.as_of = p.as_of)
    {% endif %}
)

select m.as_of, m.load_ids, plan.refresh_from
from months as m
cross join plan
where m.as_of >= plan.refresh_from
