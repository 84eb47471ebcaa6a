-- The dashboard's KUR counts per month, regency/city, bank, scheme and mandatory or not: a national month
-- holds ~400k facilities, too many to count on every page view. The regency (not only the province) lets
-- a branch office's row-level security give it the counts of its own service area.
{{ month_incremental_config(indexes=[{'columns': ['as_of']}]) }}
select
    as_of,
    province_code,
    regency_code,
    bank,
    skema,
    is_mandatory,
    count(*) as facilities,
    count(*) filter (where not is_covered) as not_covered
from {{ ref('fct_kur_coverage') }}
where {{ only_refreshed_months() }}
group by as_of, province_code, regency_code, bank, skema, is_mandatory
