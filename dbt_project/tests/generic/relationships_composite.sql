{# A composite foreign key: every row whose `columns` are all non-NULL has a row in `to` with the same
   values in `to_columns` (defaults to the same names). #}
{% test relationships_composite(model, columns, to, to_columns=none) %}
{% set to_columns = to_columns or columns %}
select child.*
from {{ model }} as child
where {% for c in columns %}child.{{ c }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
  and not exists (
    select 1 from {{ to }} as parent
    where {% for c in columns %}parent.{{ to_columns[loop.index0] }} = child.{{ c }}{% if not loop.last %} and {% endif %}{% endfor %}
  )
{% endtest %}
