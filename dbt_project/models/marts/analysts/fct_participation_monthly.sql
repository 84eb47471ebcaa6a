-- Participation by month: each participant's state in each month's branch snapshot (tokens only).
{{ month_incremental_config() }}
select
    as_of, kpj, person_id, branch_code, segmen, npp, program, has_jkk_jkm, upah, pekerjaan,
    regency_code, left(regency_code, 2) as province_code, tgl_kepesertaan, status, is_active,
    iuran_terakhir, is_paid_up, source_file, source_line
from {{ ref('int_coverage__participant_months') }}
where {{ only_refreshed_months() }}
