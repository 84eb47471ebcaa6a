-- What each build read: per month, the usable batches. The next build compares against it to find
-- the months it must rebuild (stg_audit__months_to_refresh). Written last in a build (it depends on
-- fct_metrics), so a build that fails half-way is redone in full for its months.
-- depends_on: {{ ref('fct_metrics') }}
{{ config(materialized='incremental') }}
select
    '{{ env_var("SINERGI_BUILD_ID", "manual") }}'::text as build_id,
    -- when the build started: what changed while it ran (an auditor's decision) is the next build's
    '{{ run_started_at }}'::timestamptz as recorded_at,
    as_of,
    load_ids
from {{ ref('stg_audit__months_to_refresh') }}
