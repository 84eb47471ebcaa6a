-- Recommendation letters issued to cooperatives (cited by licensing decisions, K3).
{{ month_incremental_config() }}
with loads as (select * from ({{ usable_loads('rekomendasi') }}) as l where {{ only_refreshed_months() }}),

ranked as (
    select
        l.as_of,
        l.unit as branch_code,
        r.*,
        row_number() over (partition by l.as_of, r.no_rekomendasi order by r._load_id desc, r._line) as nth
    from {{ source('raw_bpjstk', 'rekomendasi') }} as r
    join loads as l on l.load_id = r._load_id
)

select
    no_rekomendasi,
    as_of,
    branch_code,
    nik_koperasi,
    nullif(npp, '') as npp,
    tgl_terbit,
    berlaku_sampai,
    keterangan,
    _load_id as load_id,
    _file as source_file,
    _line as source_line
from ranked
where nth = 1
