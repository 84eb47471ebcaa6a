{# The ledger decides what the warehouse reads: only files whose status is `loaded` (the latest delivery
   of their family and period; superseded, duplicate, rejected and held files never count) and whose
   batch did not fail a critical expectation. A batch not checked yet (`pending`) or whose checks could
   not run (`error`) counts only when SINERGI_INCLUDE_UNCHECKED is `true`. #}
{% macro accepted_quality() -%}
    {%- if env_var('SINERGI_INCLUDE_UNCHECKED', 'false') == 'true' -%}
        ('passed', 'warning', 'none', 'pending', 'error')
    {%- else -%}
        ('passed', 'warning', 'none')
    {%- endif -%}
{%- endmacro %}

{% macro usable_loads(feed) -%}
    select
        load_id,
        sender,
        unit,
        feed,
        period,
        file as source_file,
        to_date(left(period, 6), 'YYYYMM') as as_of
    from {{ source('audit', 'load') }}
    where feed = '{{ feed }}'
      and status = 'loaded'
      and quality in {{ accepted_quality() }}
{%- endmacro %}

{# Daily snapshots: the month's state is its last usable snapshot. #}
{% macro month_end_loads(feed) -%}
    select * from (
        select
            l.*,
            row_number() over (partition by l.unit, l.as_of order by l.period desc, l.load_id desc) as nth_latest
        from ({{ usable_loads(feed) }}) as l
    ) as ranked
    where nth_latest = 1
{%- endmacro %}

{# The rows of the batches a staging model reads, in the months this build refreshes, numbered within
   each month and key from the latest batch (`nth = 1` keeps one row per key and month). #}
{% macro latest_rows(relation, loads, key) -%}
    select
        l.as_of,
        l.unit,
        l.source_file,
        r.*,
        row_number() over (partition by l.as_of, {{ key }} order by r._load_id desc, r._line) as nth
    from {{ relation }} as r
    join ({{ loads }}) as l on l.load_id = r._load_id
    where {{ only_refreshed_months('l.as_of') }}
      and {{ loaded_since_refreshed_months('r._load_id', loads) }}
{%- endmacro %}

{# Load ids grow with time, so the batches of the months a build refreshes have ids from the first of
   them onwards: a range on the load id lets a raw table's BRIN index skip the blocks of earlier
   batches, and adding a month reads that month's rows, not every month's. #}
{% macro loaded_since_refreshed_months(column, loads) -%}
    {%- if is_incremental() -%}
        {{ column }} >= (select min(f.load_id) from ({{ loads }}) as f where {{ only_refreshed_months('f.as_of') }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
