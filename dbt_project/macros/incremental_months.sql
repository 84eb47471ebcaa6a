{# Month-keyed models rebuild only the months from the earliest one whose inputs changed
   (stg_audit__months_to_refresh): adding month N+1 costs about what month 1 did, and a correction
   for an old month rebuilds that month and the ones after it. Rows of those months are deleted first,
   so a month that lost its batches is emptied too, and the new rows are then appended (dbt's own
   delete+insert would delete the same rows a second time). A first build or `--full-refresh` builds all. #}
{% macro month_incremental_config(indexes=[]) %}
    {{ config(materialized='incremental', incremental_strategy='append',
              on_schema_change='append_new_columns', indexes=indexes,
              pre_hook="{% if is_incremental() %}delete from {{ this }} where " ~ "{{ only_refreshed_months() }}{% endif %}") }}
    -- depends_on: {{ ref('stg_audit__months_to_refresh') }}
{% endmacro %}

{% macro only_refreshed_months(column='as_of') -%}
    {%- if is_incremental() -%}
        {{ column }} >= (select min(refresh_from) from {{ ref('stg_audit__months_to_refresh') }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
