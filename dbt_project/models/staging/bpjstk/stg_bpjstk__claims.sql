-- Benefit claims paid.
{{ month_incremental_config() }}
with ranked as (
    {{ latest_rows(source('raw_bpjstk', 'klaim'), usable_loads('klaim'), 'r.no_klaim') }}
)

select
    no_klaim,
    as_of,
    unit as branch_code,
    kpj,
    nik_token,
    program,
    sebab_klaim,
    tgl_kejadian,
    tgl_pengajuan,
    tgl_bayar,
    nominal,
    _load_id as load_id,
    source_file,
    _line as source_line
from ranked
where nth = 1
