{# Names normalised for matching: upper case, letters and single spaces only, and the agencies' usual
   abbreviation of the first word (seed `ref_name_abbreviations`) written out:
   `St. Aminah` -> `SITI AMINAH`, `KSU Maju` -> `KOPERASI SERBA USAHA MAJU`. #}
{% macro clean_name(column) -%}
    btrim(regexp_replace(regexp_replace(upper({{ column }}), '[^A-Z ]', ' ', 'g'), ' +', ' ', 'g'))
{%- endmacro %}

{% macro name_key(column, kind) -%}
    coalesce(
        (select a.expansion from {{ ref('ref_name_abbreviations') }} as a
         where a.kind = '{{ kind }}' and a.abbreviation = split_part({{ clean_name(column) }}, ' ', 1))
        || substr({{ clean_name(column) }}, length(split_part({{ clean_name(column) }}, ' ', 1)) + 1),
        {{ clean_name(column) }}
    )
{%- endmacro %}
