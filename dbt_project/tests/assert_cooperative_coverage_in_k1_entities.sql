-- Every active cooperative of fct_cooperative_coverage is an entity of K1 (the total) in the same month,
-- with the same region and in the numerator exactly when it is covered; and K1 has no other entity.
with k1 as (
    select as_of, entity, regency_code, in_numerator
    from {{ ref('fct_metric_entities') }}
    where metric = 'K1' and dimension = ''
)

select
    coalesce(c.as_of, k.as_of) as as_of,
    coalesce(c.nik_koperasi, k.entity) as nik_koperasi,
    c.is_covered,
    k.in_numerator,
    c.regency_code as coverage_regency_code,
    k.regency_code as entity_regency_code
from {{ ref('fct_cooperative_coverage') }} as c
full join k1 as k on k.as_of = c.as_of and k.entity = c.nik_koperasi
where c.nik_koperasi is null
   or k.entity is null
   or c.is_covered is distinct from k.in_numerator
   or c.regency_code is distinct from k.regency_code
