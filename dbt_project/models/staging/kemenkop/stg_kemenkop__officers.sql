-- Officers and staff at the end of each month (the month's last usable daily snapshot). Where the
-- ministry left the NIK blank, the token of the officer's name stands in for it in the key (the loader
-- keeps such a post; contracts.yml `stands_in_for`), marked `nama:` so it never reads as a NIK token.
{{ month_incremental_config() }}
with ranked as (
    {{ latest_rows(source('raw_kemenkop', 'pengurus'), month_end_loads('pengurus'),
                   'r.nik_koperasi, r.nik_token, r.nama_lengkap_token, r.jabatan') }}
)

select
    as_of,
    nik_koperasi || '|' || coalesce(nik_token, 'nama:' || nama_lengkap_token) || '|' || jabatan as officer_key,
    nik_koperasi,
    nik_token,
    -- NULL in rows loaded before the flag existed: the loader then set such NIKs aside
    coalesce(nik_bad_date, false) as nik_bad_date,
    jabatan,
    case when jabatan in ('Manajer', 'Karyawan') then 'staf' else 'pengurus' end as peran,
    jenis_kelamin,
    tgl_lahir,
    tgl_mulai,
    tgl_selesai,
    tgl_mulai <= (as_of + interval '1 month' - interval '1 day')::date
        and (tgl_selesai is null or tgl_selesai > (as_of + interval '1 month' - interval '1 day')::date)
        as in_office_at_month_end,
    _load_id as load_id,
    source_file,
    _line as source_line
from ranked
where nth = 1
