-- An officer's cooperative (stg_kemenkop__officers.nik_koperasi) is in the registry snapshot of the same
-- month. Two cases are not errors and are left out:
--   * the cooperative enters the registry in a later month: the ministry lists a new cooperative's board
--     before its registry row appears (seen in the clean generated world around founding decisions);
--   * the month's registry snapshot had rows quarantined by the loader: the cooperative's row may be one
--     of them (a referenced row quarantined upstream is not the warehouse's error).
-- K2 only counts officers of active cooperatives of that month, so such officers never reach a metric:
-- this checks the ministry's two exports against each other, and a failure is a warning about the
-- sender's data (it also fires while the month the cooperative is registered in has not arrived yet).
{{ config(severity='warn') }}
with registry_loads as (
    select distinct as_of, load_id from {{ ref('stg_kemenkop__cooperatives') }}
),

months_with_quarantine as (
    select distinct r.as_of
    from registry_loads as r
    where exists (select 1 from {{ ref('stg_audit__quarantined_rows') }} as q where q.load_id = r.load_id)
)

select
    o.as_of,
    o.officer_key,
    o.nik_koperasi,
    o.jabatan,
    o.in_office_at_month_end,
    o.source_file,
    o.source_line
from {{ ref('stg_kemenkop__officers') }} as o
where not exists (
        select 1 from {{ ref('stg_kemenkop__cooperatives') }} as c
        where c.as_of = o.as_of and c.nik_koperasi = o.nik_koperasi)
  and not exists (
        select 1 from {{ ref('stg_kemenkop__cooperatives') }} as c
        where c.as_of > o.as_of and c.nik_koperasi = o.nik_koperasi)
  and o.as_of not in (select as_of from months_with_quarantine)
