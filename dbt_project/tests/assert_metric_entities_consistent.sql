-- An entity listed more than once in one figure's group (a person holding two posts, a borrower with two
-- facilities) must be in the numerator in all of its rows or in none: distinct counting would otherwise
-- depend on which row is read.
select
    as_of,
    metric,
    dimension,
    dim_value,
    entity,
    count(*) as rows_listed,
    count(*) filter (where in_numerator) as rows_in_numerator
from {{ ref('fct_metric_entities') }}
group by as_of, metric, dimension, dim_value, entity
having bool_or(coalesce(in_numerator, false)) <> bool_and(coalesce(in_numerator, false))
