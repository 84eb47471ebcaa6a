{# Two name keys (macro `name_key`) agree when every word of one of them is in the other: the same word,
   its initial (`M` for `MUHAMMAD`), or the same word with one letter slipped (words of five letters or
   more); and that name has at least one word that is not an initial. Word order, a dropped middle or
   family name and a mononym do not matter (`BUDI` agrees with `BUDI SANTOSO`); a different given name
   does: `LATIKA LAKSMIWATI` and `YUNI LAKSMIWATI` share a family name and a trigram similarity of 0.55,
   but are two people, as are `MUHAMMAD RIZKI` and `MUHAMMAD FAJAR`. Names written with and without a
   space between two words (`NUR AINI`, `NURAINI`) agree too. Titles, degrees, bin/binti and spellings
   are name_key's work. NULL or empty on either side: false. #}
{% macro names_agree(a, b) -%}
    (select coalesce(x.a <> '' and x.b <> ''
                     and (replace(x.a, ' ', '') = replace(x.b, ' ', '')
                          or {{ _name_words_within('x.a', 'x.b') }}
                          or {{ _name_words_within('x.b', 'x.a') }}), false)
     from (select {{ a }} as a, {{ b }} as b) as x)
{%- endmacro %}

{# Every word of `inner` matches a word of `outer`, and `inner` has a word longer than an initial. #}
{% macro _name_words_within(inner, outer) -%}
    (select coalesce(bool_and(exists (
                select 1 from unnest(string_to_array({{ outer }}, ' ')) as o(word)
                where o.word = i.word
                   or (length(i.word) = 1 and left(o.word, 1) = i.word)
                   or (length(o.word) = 1 and left(i.word, 1) = o.word)
                   or (length(i.word) >= 5 and length(o.word) >= 5 and levenshtein(i.word, o.word) <= 1)
            )) and bool_or(length(i.word) > 1), false)
     from unnest(string_to_array({{ inner }}, ' ')) as i(word))
{%- endmacro %}

{# How far two name keys agree, as one comparison of a Fellegi–Sunter score (its levels are the
   agreement pattern whose m and u probabilities the linkage model estimates), from strongest to weakest:
     sama    the keys are identical (after name_key: titles, degrees, spellings, old spelling aside);
     setara  not identical, but names_agree: one is a subset of the other's words (mononym, dropped middle
             name, word order), initials, one-letter slips;
     mirip   not names_agree, but pg_trgm similarity >= var('person_name_min_similarity'): similar letters
             yet a word that the other lacks (often two people sharing a family name, or a mistyped short
             word); evidence for a link only together with others;
     beda    otherwise.
   NULL when either key is NULL or empty (no name to compare: the comparison is missing, not a mismatch). #}
{% macro name_agreement_level(a, b) -%}
    (select case
                when coalesce(x.a, '') = '' or coalesce(x.b, '') = '' then null
                when x.a = x.b then 'sama'
                when {{ names_agree('x.a', 'x.b') }} then 'setara'
                when similarity(x.a, x.b) >= {{ var('person_name_min_similarity') }} then 'mirip'
                else 'beda'
            end
     from (select {{ a }} as a, {{ b }} as b) as x)
{%- endmacro %}
