-- K7's list of employers in arrears (fct_employer_arrears) counts, for every employer in M's employer
-- snapshot, exactly its active workers that fct_contribution_compliance shows as not paid through M-1
-- (`not is_paid_up`). A worker never paid for (no `iuran_terakhir`, membership started before M) is
-- in arrears too: the model counts such a worker from the employer's registration month.
with unpaid as (
    select
        p.as_of,
        p.npp,
        count(*) as unpaid_workers,
        count(*) filter (where p.iuran_terakhir is null) as never_paid_workers
    from {{ ref('fct_contribution_compliance') }} as p
    join {{ ref('stg_bpjstk__employers') }} as e on e.as_of = p.as_of and e.npp = p.npp
    where p.is_paid_up is not true
    group by p.as_of, p.npp
),

listed as (
    select as_of, npp, sum(participants) as listed_workers
    from {{ ref('fct_employer_arrears') }}
    group by as_of, npp
)

select
    coalesce(u.as_of, l.as_of) as as_of,
    coalesce(u.npp, l.npp) as npp,
    u.unpaid_workers,
    u.never_paid_workers,
    l.listed_workers
from unpaid as u
full join listed as l on l.as_of = u.as_of and l.npp = u.npp
where u.unpaid_workers is distinct from l.listed_workers
