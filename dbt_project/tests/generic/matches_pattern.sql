{# Every non-NULL value of the column matches the POSIX regular expression `pattern` (anchor it). #}
{% test matches_pattern(model, column_name, pattern) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not ({{ column_name }} ~ '{{ pattern }}')
{% endtest %}
