-- K7's list of employers in arrears: per employer and number of months behind, the active workers
-- not paid through M-1 and the amount owed at the statutory minimum (lowest JKK class; JP on wages
-- up to its cap). A worker never paid for counts from the employer's registration month.
{{ month_incremental_config() }}
with late as (
    select
        p.as_of,
        p.npp,
        e.regency_code,
        {{ month_number('p.as_of') }} - 1
            - coalesce({{ month_number('p.iuran_terakhir') }}, {{ month_number('e.tgl_daftar') }} - 1) as months_owed,
        p.upah,
        p.program
    from {{ ref('int_coverage__participant_months') }} as p
    join {{ ref('stg_bpjstk__employers') }} as e on e.as_of = p.as_of and e.npp = p.npp
    where p.is_active and not p.is_paid_up and {{ only_refreshed_months('p.as_of') }}
),

dues as (
    select
        l.as_of, l.npp, l.regency_code, l.months_owed,
        round(sum(least(l.upah, coalesce(r.wage_cap, l.upah)) * r.employer_minimum_rate)) as monthly_due
    from (select *, row_number() over () as worker from late) as l
    join {{ ref('ref_programmes') }} as r
        on l.program ~ ('\m' || r.program || '\M') and r.employer_minimum_rate is not null
    group by l.as_of, l.npp, l.regency_code, l.months_owed, l.worker
)

select
    as_of,
    npp,
    regency_code,
    left(regency_code, 2) as province_code,
    months_owed,
    count(*) as participants,
    (months_owed * sum(monthly_due))::bigint as amount_owed
from dues
group by as_of, npp, regency_code, months_owed
