{# Two name keys agree when every word of the shorter one is in the longer: the same word, its initial
   (`M` for `MUHAMMAD`), or the same word with one letter slipped (words of five letters or more). Word
   order and an extra middle or family name do not matter; a different given name does: `LATIKA
   LAKSMIWATI` and `YUNI LAKSMIWATI` share a family name and a trigram similarity of 0.55, but are two
   people. #}
{% macro names_agree(a, b) -%}
    (select coalesce(bool_and(exists (
        select 1 from unnest(string_to_array(x.long, ' ')) as l(word)
        where l.word = s.word
           or (length(s.word) = 1 and left(l.word, 1) = s.word)
           or (length(l.word) = 1 and left(s.word, 1) = l.word)
           or (length(s.word) >= 5 and length(l.word) >= 5 and levenshtein(s.word, l.word) <= 1)
    )), false)
    from (select case when length({{ a }}) <= length({{ b }}) then {{ a }} else {{ b }} end as short,
                 case when length({{ a }}) <= length({{ b }}) then {{ b }} else {{ a }} end as long) as x,
         unnest(string_to_array(x.short, ' ')) as s(word))
{%- endmacro %}
