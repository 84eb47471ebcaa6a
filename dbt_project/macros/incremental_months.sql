{# Month-keyed models rebuild only the months whose inputs changed (see stg_audit__months_to_refresh):
   adding month N+1 costs about what month 1 did, and a correction for an old month rebuilds that
   month and the ones after it. A first build or `--full-refresh` builds every month. #}
{% macro month_incremental_config() %}
    {{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='as_of',
              on_schema_change='append_new_columns') }}
    -- depends_on: {{ ref('stg_audit__months_to_refresh') }}
{% endmacro %}

{% macro only_refreshed_months(column='as_of') -%}
    {%- if is_incremental() -%}
        {{ column }} in (select as_of from {{ ref('stg_audit__months_to_refresh') }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
