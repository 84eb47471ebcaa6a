-- The service area of each BPJS Ketenagakerjaan branch office: the regencies and cities it serves. Each
-- regency/city belongs to the one branch that holds most of its employers (ties to the lower branch code),
-- so areas never overlap. Worklists by branch, the branch-office role (`cabang:KODE`) and targets per
-- branch read this one definition.
with employers as (
    select regency_code, branch_code, count(distinct npp) as employers
    from {{ ref('stg_bpjstk__employers') }}
    where regency_code is not null and branch_code is not null
    group by regency_code, branch_code
),

ranked as (
    select *, row_number() over (partition by regency_code order by employers desc, branch_code) as rank_in_regency
    from employers
)

select branch_code, regency_code, left(regency_code, 2) as province_code, employers
from ranked
where rank_in_regency = 1
