-- K1 and Q1 (cooperatives): every active cooperative per month, whether it is linked to an employer,
-- how, and whether that employer is active. Uncovered ones: `where not is_covered`.
-- The dashboard's list reads one month (often one province) in this order, a page at a time.
{{ month_incremental_config(indexes=[{'columns': ['as_of', 'province_code']}, {'columns': ['as_of', 'regency_code', 'nama_koperasi', 'nik_koperasi']}]) }}
select
    c.as_of,
    c.nik_koperasi,
    c.nama_koperasi,
    c.jenis_koperasi,
    c.regency_code,
    left(c.regency_code, 2) as province_code,
    c.npp,
    c.link_rule,
    c.npp is not null as is_linked,
    c.has_active_employer as is_covered,
    c.source_file,
    c.source_line
from {{ ref('int_coverage__cooperative_months') }} as c
where c.is_active and {{ only_refreshed_months('c.as_of') }}
