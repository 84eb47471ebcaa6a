-- A claim paid in M finds its claimant in M's participant snapshot (which gives its person and region),
-- unless a participant file for M had rows quarantined (the claimant's row may be one of them: such a
-- claim counts in the national K9 only, with no region and no group).
select
    c.as_of,
    c.no_klaim,
    c.kpj,
    c.source_file,
    c.source_line
from {{ ref('fct_claims_paid') }} as c
where c.person_id is null
  and not exists (
      select 1
      from {{ ref('stg_audit__quarantined_rows') }} as q
      where q.feed = 'peserta'
        and q.as_of = c.as_of
        and q.load_status in ('loaded', 'superseded')
  )
