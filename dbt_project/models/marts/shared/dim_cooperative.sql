-- Each cooperative as last reported by ODS, with the employer record it is linked to (if any).
with latest as (
    select distinct on (nik_koperasi) *
    from {{ ref('stg_kemenkop__cooperatives') }}
    order by nik_koperasi, as_of desc
),

links as (
    -- The strongest rule that linked it: nik_koperasi > nib > npwp > nama_wilayah.
    select
        nik_koperasi,
        string_agg(npp, ', ' order by npp) as npp,
        (array_agg(rule order by array_position(array['nik_koperasi', 'nib', 'npwp', 'nama_wilayah'], rule)))[1]
            as link_rule
    from {{ ref('int_identity__cooperative_employers') }}
    where nik_koperasi is not null
    group by nik_koperasi
)

select
    c.nik_koperasi,
    c.nama_koperasi,
    c.no_badan_hukum,
    c.jenis_badan_hukum,
    c.tgl_badan_hukum,
    c.bentuk,
    c.jenis_koperasi,
    c.kelompok_koperasi,
    c.pola_pengelolaan,
    c.regency_code,
    left(c.regency_code, 2) as province_code,
    c.status_koperasi,
    c.tgl_rat_terakhir,
    c.jumlah_anggota_pria + c.jumlah_anggota_wanita as jumlah_anggota,
    c.nib,
    c.npwp15,
    l.npp,
    l.link_rule,
    c.as_of as last_reported
from latest as c
left join links as l on l.nik_koperasi = c.nik_koperasi
