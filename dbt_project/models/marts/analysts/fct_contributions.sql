-- Contributions received, by the month they were reported for (grows only: incremental).
-- depends_on: {{ ref('dim_branch') }} (its row-level security reads the branch's province)
{{ month_incremental_config() }}
select
    c.as_of, c.no_referensi, c.payer_kind, c.npp, c.kpj, c.periode,
    c.iuran_jkk, c.iuran_jkm, c.iuran_jht, c.iuran_jp, c.iuran_jkp, c.total,
    c.tgl_bayar, c.kanal, c.branch_code, c.source_file, c.source_line
from {{ ref('stg_bpjstk__contributions') }} as c
where {{ only_refreshed_months('c.as_of') }}
