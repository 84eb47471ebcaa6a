-- Benefit claims paid, by the month they were reported for (grows only: incremental).
-- depends_on: {{ ref('dim_branch') }} (its row-level security reads the branch's province)
{{ month_incremental_config() }}
select
    as_of, no_klaim, kpj, nik_token as person_id, program, sebab_klaim, tgl_kejadian, tgl_pengajuan,
    tgl_bayar, nominal, branch_code, source_file, source_line
from {{ ref('stg_bpjstk__claims') }}
where {{ only_refreshed_months() }}
