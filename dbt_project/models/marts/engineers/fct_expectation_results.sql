-- The Great Expectations results of each batch's latest run: which expectations ran, which are
-- critical (a failure keeps the batch out of the warehouse) and whether they passed; with the batch's
-- sender and region for row-level security (see fct_deliveries).
select
    r.load_id,
    d.sender,
    d.unit,
    r.suite,
    r.expectation,
    r.column_name,
    r.critical,
    r.success,
    r.observed,
    r.run_id,
    r.run_at,
    d.sender_region
from {{ source('audit', 'expectation_result') }} as r
join {{ ref('fct_deliveries') }} as d on d.load_id = r.load_id
where r.run_id = (select max(x.run_id) from {{ source('audit', 'expectation_result') }} as x where x.load_id = r.load_id)
