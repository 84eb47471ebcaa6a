-- Recommendation letters issued to cooperatives (cited by licensing decisions, K3).
{{ month_incremental_config() }}
with ranked as (
    {{ latest_rows(source('raw_bpjstk', 'rekomendasi'), usable_loads('rekomendasi'), 'r.no_rekomendasi') }}
)

select
    no_rekomendasi,
    as_of,
    unit as branch_code,
    nik_koperasi,
    nullif(npp, '') as npp,
    tgl_terbit,
    berlaku_sampai,
    keterangan,
    _load_id as load_id,
    source_file,
    _line as source_line
from ranked
where nth = 1
