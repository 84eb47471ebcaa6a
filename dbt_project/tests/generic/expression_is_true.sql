{# A row-level rule: returns the rows for which `expression` is not true (false or NULL). With
   `column_name` (the test placed under a column) the expression may use it. #}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
