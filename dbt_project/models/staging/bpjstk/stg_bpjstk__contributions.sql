-- Contributions received; `total` is the sum of the five programmes (tested).
{{ month_incremental_config() }}
with ranked as (
    {{ latest_rows(source('raw_bpjstk', 'iuran'), usable_loads('iuran'), 'r.no_referensi') }}
)

select
    no_referensi,
    as_of,
    unit as branch_code,
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
    source_file,
    _line as source_line
from ranked
where nth = 1
