{# Custom schemas are used as named (staging, intermediate, identity, marts, reference, restricted),
   not prefixed with the target schema: roles are granted per schema. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
