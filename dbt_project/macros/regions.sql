{# The current Kemendagri regency/city (`PP.KK`) of a code at any level. The loader has already dotted
   codes and mapped retired ones; the code-change seed is applied again so that the warehouse never
   depends on a loader version. A province-only code has no regency. #}
{% macro regency_code(column) -%}
    coalesce(
        (select c.current_code from {{ ref('region_code_changes') }} as c where c.old_code = left({{ column }}, 5)),
        case when length({{ column }}) >= 5 then left({{ column }}, 5) end
    )
{%- endmacro %}
