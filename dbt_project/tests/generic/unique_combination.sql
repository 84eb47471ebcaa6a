{# A composite key: no two rows share the same values in `columns` (NULL counts as a value, so a key
   with a missing part is reported too). Returns one row per repeated combination. #}
{% test unique_combination(model, columns) %}
select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
