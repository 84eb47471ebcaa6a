-- fct_kur_coverage_summary counts exactly the facilities of fct_kur_coverage: a month, regency, bank,
-- scheme or mandatory group whose counts differ is returned.
with detail as (
    select as_of, province_code, regency_code, bank, skema, is_mandatory,
        count(*) as facilities, count(*) filter (where not is_covered) as not_covered
    from {{ ref('fct_kur_coverage') }}
    group by as_of, province_code, regency_code, bank, skema, is_mandatory
)

select *
from detail as d
full join {{ ref('fct_kur_coverage_summary') }} as s
    on s.as_of = d.as_of and s.province_code is not distinct from d.province_code
    and s.regency_code is not distinct from d.regency_code and s.bank = d.bank
    and s.skema = d.skema and s.is_mandatory = d.is_mandatory
where s.facilities is distinct from d.facilities or s.not_covered is distinct from d.not_covered
