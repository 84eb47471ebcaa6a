-- Months whose inputs changed since the last build, and every month after the earliest of them
-- (later months read earlier ones: letters, borrowers so far). A month's inputs are its usable
-- batches; they change when a file arrives, or when one is superseded or fails its checks.
-- `published.fct_build_inputs` holds what each build read; it is looked up by name, not ref'd,
-- because it is written at the end of this same build.
{% set previous = adapter.get_relation(database=target.database, schema='published', identifier='fct_build_inputs') %}
with current_inputs as (
    select to_date(left(period, 6), 'YYYYMM') as as_of, array_agg(load_id order by load_id) as load_ids
    from {{ source('audit', 'load') }}
    where status = 'loaded' and quality in {{ accepted_quality() }}
    group by 1
),

changed as (
    select c.as_of, c.load_ids
    from current_inputs as c
    {% if previous is not none %}
    left join (
        select distinct on (as_of) as_of, load_ids from {{ previous }} order by as_of, recorded_at desc
    ) as p on p.as_of = c.as_of
    where p.as_of is null or p.load_ids <> c.load_ids
    {% endif %}
)

select c.as_of, c.load_ids
from current_inputs as c
where c.as_of >= (select min(as_of) from changed)
