-- The Great Expectations results of each batch's latest run: which expectations ran, which are
-- critical (a failure keeps the batch out of the warehouse) and whether they passed.
select
    r.load_id,
    r.suite,
    r.expectation,
    r.column_name,
    r.critical,
    r.success,
    r.observed,
    r.run_id,
    r.run_at
from {{ source('audit', 'expectation_result') }} as r
where r.run_id = (select max(x.run_id) from {{ source('audit', 'expectation_result') }} as x where x.load_id = r.load_id)
