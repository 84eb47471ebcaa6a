{# Names normalised for matching: upper case, letters and single spaces only, and the agencies' usual
   abbreviation of the first word (seed `ref_name_abbreviations`) written out:
   `St. Aminah` -> `SITI AMINAH`, `KSU Maju` -> `KOPERASI SERBA USAHA MAJU`. #}
{% macro clean_name(column) -%}
    btrim(regexp_replace(upper({{ column }}), '[^A-Z]+', ' ', 'g'))
{%- endmacro %}

{# `offset 0` keeps the cleaned name a value computed once per row: inlined, its regular expression
   would run again for every abbreviation compared (3.5x slower over the vault). #}
{% macro name_key(column, kind) -%}
    (select coalesce(a.expansion || substr(n.clean, length(split_part(n.clean, ' ', 1)) + 1), n.clean)
     from (select {{ clean_name(column) }} as clean offset 0) as n
     left join {{ ref('ref_name_abbreviations') }} as a
         on a.kind = '{{ kind }}' and a.abbreviation = split_part(n.clean, ' ', 1))
{%- endmacro %}
