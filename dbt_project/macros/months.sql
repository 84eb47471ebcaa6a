{# A month as a running number (year * 12 + month), so that month differences are plain subtraction. #}
{% macro month_number(date_column) -%}
    (extract(year from {{ date_column }})::int * 12 + extract(month from {{ date_column }})::int)
{%- endmacro %}

{% macro month_end(date_column) -%}
    (({{ date_column }}) + interval '1 month' - interval '1 day')::date
{%- endmacro %}
