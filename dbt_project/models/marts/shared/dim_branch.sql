-- BPJS Ketenagakerjaan branch offices and the province each serves: the province of most of its
-- employers. Contributions and claims carry only the branch, so regional access follows it.
select
    branch_code,
    mode() within group (order by left(regency_code, 2)) as province_code,
    count(distinct npp) as employers
from {{ ref('stg_bpjstk__employers') }}
where regency_code is not null
group by branch_code
