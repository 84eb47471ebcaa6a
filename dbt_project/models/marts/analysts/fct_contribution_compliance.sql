-- K7 and K8: every active participant in M, whether contributions are paid through M-1, and for
-- BPU participants their occupation.
{{ month_incremental_config() }}
select
    as_of,
    kpj,
    person_id,
    segmen,
    pekerjaan,
    npp,
    upah,
    program,
    iuran_terakhir,
    is_paid_up,
    regency_code,
    left(regency_code, 2) as province_code,
    source_file,
    source_line
from {{ ref('int_coverage__participant_months') }}
where is_active and {{ only_refreshed_months() }}
