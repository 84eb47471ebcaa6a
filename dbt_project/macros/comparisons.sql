{# The comparison levels person matching scores (int_identity__match_parameters states their m and u).
   Each returns NULL when a side is missing: a missing value is no evidence either way. #}

{# `sama`, `salah_ketik` (one digit wrong or two swapped: vault.nik_distance = 1) or `beda`. The distance
   is asked of the vault only for tokens that differ. `known_wrong`: either NIK's birth-date part is
   impossible (`nik_bad_date`), so it is a typing error: one keystroke from the other it is still a slip of
   it, but further away it says nothing about who the person is (NULL, like a blank NIK), where a possible
   NIK would say `beda`. #}
{% macro nik_level(a, b, known_wrong='false') -%}
    case
        when {{ a }} is null or {{ b }} is null then null
        when {{ a }} = {{ b }} then 'sama'
        else (select case when d = 1 then 'salah_ketik' when d > 1 and not {{ known_wrong }} then 'beda' end
              from (select vault.nik_distance({{ a }}, {{ b }}) as d) as nd)
    end
{%- endmacro %}

{# `sama`, `mirip` (one of day, month or year differs, or day and month swapped) or `beda`. #}
{% macro birth_date_level(a, b) -%}
    case
        when {{ a }} is null or {{ b }} is null then null
        when {{ a }} = {{ b }} then 'sama'
        when (extract(year from {{ a }}) = extract(year from {{ b }})) :: int
           + (extract(month from {{ a }}) = extract(month from {{ b }})) :: int
           + (extract(day from {{ a }}) = extract(day from {{ b }})) :: int = 2
          or (extract(year from {{ a }}) = extract(year from {{ b }})
              and extract(month from {{ a }}) = extract(day from {{ b }})
              and extract(day from {{ a }}) = extract(month from {{ b }})) then 'mirip'
        else 'beda'
    end
{%- endmacro %}

{# `sama` regency/city, `provinsi` (same province) or `beda`. #}
{% macro region_level(a, b) -%}
    case
        when {{ a }} is null or {{ b }} is null then null
        when {{ a }} = {{ b }} then 'sama'
        when left({{ a }}, 2) = left({{ b }}, 2) then 'provinsi'
        else 'beda'
    end
{%- endmacro %}
