-- Macro name_spelling_rewrites applies the first name_rewrite_steps() rows of seed
-- ref_name_spelling_rewrites: returns a row when the seed has more, which would be silently ignored.
select count(*) as rewrites, {{ name_rewrite_steps() }} as applied
from {{ ref('ref_name_spelling_rewrites') }}
having count(*) > {{ name_rewrite_steps() }}
