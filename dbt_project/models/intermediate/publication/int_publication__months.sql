-- Whether each month's figures may enter the published history: every delivery the senders' calendars
-- expect for it (ref_delivery_calendar) has arrived, or its deadline has passed. A month still waiting
-- for a delivery within its deadline is built (the marts show it) but provisional: never published.
-- A BPJS branch is expected from the month after its first delivery; before any branch has delivered,
-- the month expects at least one branch's report of each feed.
with months as (
    select distinct as_of, {{ month_end('as_of') }} as month_end
    from {{ ref('stg_audit__loads') }}
    where is_usable
),

delivered as (
    select sender, unit, feed, period, as_of
    from {{ ref('stg_audit__loads') }}
    where status in ('loaded', 'superseded')
),

branches as (
    select unit, min(as_of) as first_month
    from delivered
    where sender = 'bpjstk'
    group by unit
),

expected as (
    select
        m.as_of,
        c.sender,
        coalesce(b.unit, c.unit) as unit,
        c.feed,
        case c.month_file when 'month_end' then to_char(m.month_end, 'YYYYMMDD') else to_char(m.as_of, 'YYYYMM') end
            as period,
        (m.as_of + interval '1 month' + (c.due_day - 1) * interval '1 day')::date as deadline
    from months as m
    cross join {{ ref('ref_delivery_calendar') }} as c
    left join branches as b
        on c.unit = '*' and b.first_month < m.as_of
),

checked as (
    select
        e.*,
        exists (
            select 1 from delivered as d
            where d.sender = e.sender and d.feed = e.feed and d.period = e.period
              and (e.unit = '*' or d.unit = e.unit)
        ) as arrived
    from expected as e
)

select
    as_of,
    count(*)::int as expected_deliveries,
    count(*) filter (where arrived)::int as arrived_deliveries,
    coalesce(array_agg(sender || '/' || unit || '/' || feed order by sender, unit, feed) filter (where not arrived),
             '{}') as missing_deliveries,
    max(deadline) as deadline,
    case
        when bool_and(arrived) then 'lengkap'
        when bool_and(arrived or deadline < (now() at time zone 'Asia/Jakarta')::date) then 'tenggat_lewat'
        else 'sementara'
    end as status,
    bool_and(arrived or deadline < (now() at time zone 'Asia/Jakarta')::date) as publishable
from checked
group by as_of
