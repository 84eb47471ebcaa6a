-- The cooperative registry at the end of each month (its last usable daily snapshot).
{{ month_incremental_config() }}
with ranked as (
    {{ latest_rows(source('raw_kemenkop', 'koperasi'), month_end_loads('koperasi'), 'r.nik_koperasi') }}
)

select
    as_of,
    nik_koperasi,
    nama_koperasi,
    {{ name_key('nama_koperasi', 'cooperative') }} as name_key,
    no_badan_hukum,
    case
        when no_badan_hukum like 'AHU-%' then 'AHU'
        when no_badan_hukum like '%/BH/%' then 'Dinas'
        else 'Lainnya'
    end as jenis_badan_hukum,
    tgl_badan_hukum,
    bentuk,
    jenis_koperasi,
    kelompok_koperasi,
    pola_pengelolaan,
    kode_wilayah,
    {{ regency_code('kode_wilayah') }} as regency_code,
    alamat,
    status_koperasi,
    tgl_rat_terakhir,
    jumlah_anggota_pria,
    jumlah_anggota_wanita,
    jumlah_manajer,
    jumlah_karyawan,
    nib,
    {{ npwp15('npwp') }} as npwp15,
    tgl_update,
    _load_id as load_id,
    source_file,
    _line as source_line
from ranked
where nth = 1
