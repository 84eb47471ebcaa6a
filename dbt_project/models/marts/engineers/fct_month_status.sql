-- Per month: the deliveries expected and missing, and whether its figures are final or provisional
-- (what the dashboard and `sinergi metrics` say beside a month's figures).
select
    as_of,
    status,
    publishable,
    expected_deliveries,
    arrived_deliveries,
    missing_deliveries,
    deadline
from {{ ref('int_publication__months') }}
