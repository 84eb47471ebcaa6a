-- A ratio's numerator counts a subset of its denominator's entities.
select *
from {{ ref('fct_metrics') }}
where denominator is not null
  and numerator > denominator
