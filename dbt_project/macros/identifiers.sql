{# NPWP: the 16-digit form of an entity is "0" + the 15-digit number; both are one identifier.
   A 16-digit value not starting with 0 is a NIK used as NPWP and is kept as it is. #}
{% macro npwp15(column) -%}
    case
        when {{ column }} is null then null
        when length(regexp_replace({{ column }}, '[^0-9]', '', 'g')) = 16
             and left(regexp_replace({{ column }}, '[^0-9]', '', 'g'), 1) = '0'
            then substr(regexp_replace({{ column }}, '[^0-9]', '', 'g'), 2)
        else regexp_replace({{ column }}, '[^0-9]', '', 'g')
    end
{%- endmacro %}
