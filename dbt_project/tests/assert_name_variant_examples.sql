-- The name rules (macros names.sql, name_agreement.sql and their seeds) on the examples of seed
-- ref_name_variant_examples: returns every pair the rules get wrong, i.e. one person whose two names are
-- not `sama`/`setara`, or two people whose names are. Runs in every `dbt build`, so a change to a rule
-- or a seed that breaks an example fails the build.
with keyed as materialized (
    -- Materialised: each key computed once, not again wherever the level reads it.
    select
        e.class,
        e.name_a,
        e.name_b,
        e.same_person,
        {{ name_key('e.name_a', 'person') }} as key_a,
        {{ name_key('e.name_b', 'person') }} as key_b
    from {{ ref('ref_name_variant_examples') }} as e
),

graded as (
    select k.*, {{ name_agreement_level('k.key_a', 'k.key_b') }} as level
    from keyed as k
)

select class, name_a, name_b, same_person, key_a, key_b, level
from graded
where same_person is distinct from coalesce(level in ('sama', 'setara'), false)
