{# Names normalised for matching: upper case, letters and single spaces only, and the agencies' usual
   abbreviation of the first word (seed `ref_name_abbreviations`) written out:
   `KSU Maju` -> `KOPERASI SERBA USAHA MAJU`. Person names get more (macro `person_name_key`). #}
{% macro clean_name(column) -%}
    btrim(regexp_replace(upper({{ column }}), '[^A-Z]+', ' ', 'g'))
{%- endmacro %}

{# `offset 0` keeps the cleaned name a value computed once per row: inlined, its regular expression
   would run again for every abbreviation compared (3.5x slower over the vault). #}
{% macro name_key(column, kind) -%}
    {%- if kind == 'person' -%}
    {{ person_name_key(column) }}
    {%- else -%}
    (select coalesce(a.expansion || substr(n.clean, length(split_part(n.clean, ' ', 1)) + 1), n.clean)
     from (select {{ clean_name(column) }} as clean offset 0) as n
     left join {{ ref('ref_name_abbreviations') }} as a
         on a.kind = '{{ kind }}' and a.abbreviation = split_part(n.clean, ' ', 1))
    {%- endif -%}
{%- endmacro %}

{# A person's name as a key that the variants of one person's name share, or that at least agree word for
   word (macro `names_agree`); the same on every feed. The rules are data (seeds `ref_name_*`), this SQL
   only applies them, in this order:
     1. upper case, accents folded, apostrophes dropped (`Ma'ruf` = `Maruf`);
     2. everything from the first comma dropped: degrees follow it (`Budi, S.E., M.M.`); a name written
        family name first (`Santoso, Budi`) keeps `SANTOSO`, a subset that still agrees;
     3. `bin`/`binti` and the father's name after them dropped (`ref_name_affixes`, rule `patronymic`;
        `b.` only with its dot, while dots are still there: an undotted `B` is an initial);
     4. letters and single spaces only;
     5. word by word: titles dropped wherever they stand (rule `title`: `H`, `HJ`, `DR`, `IR`, `PROF`...)
        and degrees written without a comma after the first word (rule `degree`, unless `ambiguous`);
        usual spellings of a word written one way (`ref_name_spellings`: `MOCH`, `MOHAMAD` -> `MUHAMMAD`,
        `SITTI` -> `SITI`); a name that was nothing but titles keeps its words;
     6. the first word's abbreviation written out (`ref_name_abbreviations`: `M` -> `MUHAMMAD`);
     7. the pre-1972 spelling and other sound-alike letters rewritten in the seed's order
        (`ref_name_spelling_rewrites`: `DJOKO`, `JOKO` -> `YOKO`; `SOEHARTO` -> `SUHARTO`), then doubled
        letters made single (`MUHAMMAD` -> `MUHAMAD`). The key is for comparing, not for reading.
   Cost per row: two regular expressions (a small one for rule 3, built once per query from the seed, and
   the cleaning), one pass over the words with a lookup each, about forty `replace` calls. Seeds are read
   through uncorrelated subqueries, which PostgreSQL evaluates once per query, not per row; lists of
   words are matched by lookup, not by regular expression: PostgreSQL's regular expressions cost about
   a microsecond per alternative per row, and look-around constraints much more. #}
{% macro person_name_key(column) -%}
    (select case when w.bare is not null then {{ name_spelling_rewrites(_name_first_word('w.mapped'), 'r.olds', 'r.news') }} end
     from (select c.bare,
                  case when not ({{ _name_spellings() }} ?| string_to_array(c.bare, ' ')
                                 or {{ _name_affix_words() }} ?| string_to_array(c.bare, ' ')) then c.bare
                       -- Words in input order: an aggregate over a function scan reads its rows in order
                       -- (an `order by` would sort every name, a third of this pass's cost).
                       else coalesce((
                           select string_agg(coalesce({{ _name_spellings() }} ->> t.word, t.word), ' ')
                           from unnest(string_to_array(c.bare, ' ')) with ordinality as t(word, n)
                           where not coalesce({{ _name_affix_words() }} ->> t.word = 'title'
                                              or ({{ _name_affix_words() }} ->> t.word = 'degree' and t.n > 1), false)
                       ), c.bare) end as mapped
           from (select coalesce(nullif({{ clean_name(
                        "regexp_replace(split_part(u.name, ',', 1), " ~ _name_patronymic_pattern() ~ ", '')") }}, ''),
                    {{ clean_name('u.name') }}) as bare
                 from (select {{ _name_fold(column) }} as name offset 0) as u
                 offset 0) as c
           offset 0) as w,
          {{ _name_rewrite_arrays() }} as r)
{%- endmacro %}

{# Upper case, apostrophes and backticks dropped (`Ma'ruf` is one word), and on the few names that are
   not plain ASCII the accents a keyboard adds folded to plain letters (upper() folds none under the C
   locale; translate() over many multibyte characters is slow, so only where needed). #}
{% macro _name_fold(column) -%}
    (select case when octet_length(f.name) = char_length(f.name) then f.name
                 else translate(f.name, 'ÀÁÂÃÄÅàáâãäåÈÉÊËèéêëÌÍÎÏìíîïÒÓÔÕÖòóôõöÙÚÛÜùúûüÝýÑñÇç’‘',
                                'AAAAAAAAAAAAEEEEEEEEIIIIIIIIOOOOOOOOOOUUUUUUUUYYNNCC') end
     from (select replace(replace(upper({{ column }}), '''', ''), '`', '') as name) as f)
{%- endmacro %}

{# Rule 3 as one small regular expression, built once per query from seed `ref_name_affixes`: a
   patronymic word (not the first), with its dot where `ambiguous`, and everything after it. #}
{% macro _name_patronymic_pattern() -%}
    (select '[\s.](?:' || string_agg('\m' || upper(replace(a.affix, '.', ''))
                                     || case when a.ambiguous then '\.' else '\M\.?' end, '|')
            || ')\s*[A-Z].*$'
     from {{ ref('ref_name_affixes') }} as a where a.rule = 'patronymic')
{%- endmacro %}

{# Word lookups, each built once per query. Titles and degrees by their letters (`S.Kom.` -> `SKOM`);
   a word that is both (`DR`) counts as a title. Ambiguous degrees count only after a comma (rule 2). #}
{% macro _name_affix_words() -%}
    (select jsonb_object_agg(upper(replace(a.affix, '.', '')), a.rule order by a.rule)
     from {{ ref('ref_name_affixes') }} as a
     where a.rule = 'title' or (a.rule = 'degree' and not a.ambiguous))
{%- endmacro %}

{% macro _name_spellings() -%}
    (select jsonb_object_agg(s.spelling, s.canonical) from {{ ref('ref_name_spellings') }} as s)
{%- endmacro %}

{# Rule 6, the first word's abbreviation, as the other kinds of name have it (macro name_key). #}
{% macro _name_first_word(name) -%}
    coalesce((select jsonb_object_agg(a.abbreviation, a.expansion) from {{ ref('ref_name_abbreviations') }} as a
              where a.kind = 'person') ->> split_part({{ name }}, ' ', 1)
             || substr({{ name }}, length(split_part({{ name }}, ' ', 1)) + 1),
             {{ name }})
{%- endmacro %}

{# How many rows of seed `ref_name_spelling_rewrites` are applied: each is one `replace` per row, written
   out here (test assert_name_rewrites_within_steps fails when the seed outgrows it). #}
{% macro name_rewrite_steps() -%}16{%- endmacro %}

{# Rule 7: the rewrites of seed `ref_name_spelling_rewrites` in the order of `step` (arrays `olds` and
   `news`, macro _name_rewrite_arrays), then doubled letters made single, one `replace` per letter (a
   back-reference, `([A-Z])\1`, costs 10x more). Words are padded with a space each side, so that `_` in
   a rewrite (a word boundary) matches at both ends of every word; a missing step is `replace(x, '', '')`,
   which returns x. #}
{% macro name_spelling_rewrites(expression, olds, news) -%}
    {%- set ns = namespace(sql="(' ' || replace(" ~ expression ~ ", ' ', '  ') || ' ')") -%}
    {%- for i in range(1, name_rewrite_steps() | int + 1) -%}
        {%- set ns.sql = "replace(" ~ ns.sql ~ ", coalesce(" ~ olds ~ "[" ~ i ~ "], ''), coalesce(" ~ news ~ "[" ~ i ~ "], ''))" -%}
    {%- endfor -%}
    {%- for letter in 'ABCDEFGHIJKLMNOPQRSTUVWXYZ ' -%}
        {%- set ns.sql = "replace(" ~ ns.sql ~ ", '" ~ letter ~ letter ~ "', '" ~ letter ~ "')" -%}
    {%- endfor -%}
    btrim({{ ns.sql }})
{%- endmacro %}

{# The seed's rewrites as two arrays, read once per query (`offset 0`: a subquery of its own, so that
   every step reads these two values rather than each running its own copy of the subquery). #}
{% macro _name_rewrite_arrays() -%}
    (select (select array_agg(replace(r.old, '_', ' ') order by r.step) from {{ ref('ref_name_spelling_rewrites') }} as r) as olds,
            (select array_agg(replace(r.new, '_', ' ') order by r.step) from {{ ref('ref_name_spelling_rewrites') }} as r) as news
     offset 0)
{%- endmacro %}
