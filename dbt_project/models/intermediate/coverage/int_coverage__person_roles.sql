-- Who each resolved person is in month M: an officer in office (in any listed cooperative), an UMKM
-- owner (in the month's registry), a KUR borrower (any facility disbursed up to M). K9 counts claims
-- by these groups.
{{ month_incremental_config() }}
with months as (
    select distinct as_of from {{ ref('stg_bpjstk__claims') }} where {{ only_refreshed_months() }}
),

officers as (
    select distinct o.as_of, l.person_id, 'pekerja_koperasi' as kelompok
    from {{ ref('stg_kemenkop__officers') }} as o
    join {{ ref('int_identity__person_links') }} as l
        on l.record_feed = 'pengurus' and l.record_key = o.officer_key
    where o.in_office_at_month_end and {{ only_refreshed_months('o.as_of') }}
),

owners as (
    select distinct u.as_of, l.person_id, 'pemilik_umkm' as kelompok
    from {{ ref('stg_kemenkop__umkm') }} as u
    join {{ ref('int_identity__person_links') }} as l on l.record_feed = 'umkm' and l.record_key = u.nib
    where {{ only_refreshed_months('u.as_of') }}
),

borrowers as (
    select distinct m.as_of, l.person_id, 'debitur_kur' as kelompok
    from {{ ref('stg_himbara__kur_facilities') }} as k
    join {{ ref('int_identity__person_links') }} as l on l.record_feed = 'kur' and l.record_key = k.id_fasilitas
    join months as m on k.disbursement_month <= m.as_of
)

select * from officers
union all select * from owners
union all select * from borrowers
