-- Each participant's state per month (the branch snapshot for that month), with the person it is
-- and whether contributions are paid through M-1 (K7: the employer's for PU, their own for BPU; a
-- membership that started in M counts as paid).
-- The person is the NIK's token. A snapshot whose NIK has an impossible birth date (`nik_bad_date`, a
-- typo) is still the same participant (KPJ) as the snapshots around it: it takes the token of the
-- nearest one whose NIK is possible, the one identity resolution links records to
-- (int_identity__person_records), so the typo costs the person no month of coverage. Only snapshots from
-- the month before the first refreshed one are looked at: the cost stays with the months built.
{{ month_incremental_config() }}
with mistyped as (
    select as_of, kpj from {{ ref('stg_bpjstk__participants') }}
    where nik_bad_date and {{ only_refreshed_months() }}
),

nearest_possible as (
    select distinct on (m.as_of, m.kpj) m.as_of, m.kpj, o.nik_token
    from mistyped as m
    join {{ ref('stg_bpjstk__participants') }} as o on o.kpj = m.kpj and not o.nik_bad_date
    {%- if is_incremental() %}
    where o.as_of >= (select min(refresh_from) - interval '1 month' from {{ ref('stg_audit__months_to_refresh') }})
    {%- endif %}
    order by m.as_of, m.kpj, abs(o.as_of - m.as_of), o.as_of desc
)

select
    p.as_of,
    p.kpj,
    coalesce(n.nik_token, p.nik_token) as person_id,
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
left join nearest_possible as n on n.as_of = p.as_of and n.kpj = p.kpj
where {{ only_refreshed_months('p.as_of') }}
