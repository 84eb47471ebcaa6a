-- Benefit claims paid.
{{ month_incremental_config() }}
with loads as (select * from ({{ usable_loads('klaim') }}) as l where {{ only_refreshed_months() }}),

ranked as (
    select
        l.as_of,
        l.unit as branch_code,
        r.*,
        row_number() over (partition by l.as_of, r.no_klaim order by r._load_id desc, r._line) as nth
    from {{ source('raw_bpjstk', 'klaim') }} as r
    join loads as l on l.load_id = r._load_id
)

select
    no_klaim,
    as_of,
    branch_code,
    kpj,
    nik_token,
    program,
    sebab_klaim,
    tgl_kejadian,
    tgl_pengajuan,
    tgl_bayar,
    nominal,
    _load_id as load_id,
    _file as source_file,
    _line as source_line
from ranked
where nth = 1
