-- Each participant's state per month (the branch snapshot for that month), with the person it is
-- and whether contributions are paid through M-1 (K7: the employer's for PU, their own for BPU; a
-- membership that started in M counts as paid).
{{ month_incremental_config() }}
select
    p.as_of,
    p.kpj,
    p.nik_token as person_id,
    p.branch_code,
    p.segmen,
    p.npp,
    p.program,
    p.has_jkk_jkm,
    p.upah,
    p.pekerjaan,
    p.regency_code,
    p.tgl_kepesertaan,
    p.status,
    p.is_active,
    p.iuran_terakhir,
    coalesce(
        date_trunc('month', p.tgl_kepesertaan)::date >= p.as_of
        or p.iuran_terakhir >= (p.as_of - interval '1 month')::date,
        false
    ) as is_paid_up,
    {{ month_number('p.as_of') }} - 1 - {{ month_number('p.iuran_terakhir') }} as months_behind,
    p.load_id,
    p.source_file,
    p.source_line
from {{ ref('stg_bpjstk__participants') }} as p
where {{ only_refreshed_months('p.as_of') }}
