-- feeds.md: a contribution's `total` equals the sum of the five programmes. A row that does not add up
-- (or misses a part) is returned.
select
    no_referensi,
    as_of,
    iuran_jkk,
    iuran_jkm,
    iuran_jht,
    iuran_jp,
    iuran_jkp,
    total,
    iuran_jkk + iuran_jkm + iuran_jht + iuran_jp + iuran_jkp as sum_of_programmes,
    source_file,
    source_line
from {{ ref('stg_bpjstk__contributions') }}
where total is distinct from iuran_jkk + iuran_jkm + iuran_jht + iuran_jp + iuran_jkp
