-- Every month the warehouse holds data for, with its Indonesian label.
{% set bulan = ['Januari', 'Februari', 'Maret', 'April', 'Mei', 'Juni', 'Juli', 'Agustus', 'September',
                'Oktober', 'November', 'Desember'] %}
select
    as_of,
    {{ month_end('as_of') }} as month_end,
    extract(year from as_of)::int as year,
    extract(month from as_of)::int as month,
    (array['{{ bulan | join("', '") }}'])[extract(month from as_of)::int] || ' ' || extract(year from as_of)::int
        as label
from (select distinct as_of from {{ ref('stg_audit__loads') }} where is_usable) as months
