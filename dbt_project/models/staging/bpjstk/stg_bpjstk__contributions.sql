-- Contributions received; `total` is the sum of the five programmes (tested).
{{ month_incremental_config() }}
with loads as (select * from ({{ usable_loads('iuran') }}) as l where {{ only_refreshed_months() }}),

ranked as (
    select
        l.as_of,
        l.unit as branch_code,
        r.*,
        row_number() over (partition by l.as_of, r.no_referensi order by r._load_id desc, r._line) as nth
    from {{ source('raw_bpjstk', 'iuran') }} as r
    join loads as l on l.load_id = r._load_id
)

select
    no_referensi,
    as_of,
    branch_code,
    nullif(npp, '') as npp,
    nullif(kpj, '') as kpj,
    case when nullif(npp, '') is not null then 'PU' else 'BPU' end as payer_kind,
    periode,
    iuran_jkk,
    iuran_jkm,
    iuran_jht,
    iuran_jp,
    iuran_jkp,
    total,
    tgl_bayar,
    kanal,
    _load_id as load_id,
    _file as source_file,
    _line as source_line
from ranked
where nth = 1
