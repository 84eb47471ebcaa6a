-- K4, K5 and Q1 (borrowers): each KUR facility disbursed in M, whether its borrower was an active
-- participant on the disbursement date or became one within 30 days (read from M's participant
-- snapshot), whether enrolment is mandatory (KUR Kecil / Khusus above Rp100 jt) and whether the bank's
-- own `status_bpjstk` agrees.
-- The dashboard's list reads one month (often one province) in this order, a page at a time.
{{ month_incremental_config(indexes=[{'columns': ['as_of', 'province_code']}, {'columns': ['as_of', 'bank', 'skema', 'tgl_pencairan', 'id_fasilitas']}]) }}
with facilities as (
    select
        k.*,
        l.person_id,
        l.rule as link_rule,
        s.mandatory_above is not null and k.plafon > s.mandatory_above as is_mandatory
    from {{ ref('stg_himbara__kur_facilities') }} as k
    join {{ ref('int_identity__person_links') }} as l on l.record_feed = 'kur' and l.record_key = k.id_fasilitas
    left join {{ ref('ref_kur_schemes') }} as s on s.skema = k.skema
    where {{ only_refreshed_months('k.disbursement_month') }}
),

participation as (
    select
        as_of,
        person_id,
        min(tgl_kepesertaan) filter (where is_active) as active_since,
        min(kpj) as kpj
    from {{ ref('int_coverage__participant_months') }}
    where {{ only_refreshed_months() }}
    group by as_of, person_id
)

select
    f.disbursement_month as as_of,
    f.id_fasilitas,
    f.bank,
    f.skema,
    f.plafon,
    f.tgl_pencairan,
    f.is_mandatory,
    f.person_id,
    f.link_rule,
    p.kpj,
    p.person_id is not null as is_registered,
    coalesce(p.active_since <= f.tgl_pencairan + 30, false) as is_covered,
    f.status_bpjstk,
    f.status_bpjstk in ('Terdaftar', 'Didaftarkan') as bank_says_enrolled,
    (f.status_bpjstk in ('Terdaftar', 'Didaftarkan')) = coalesce(p.active_since <= f.tgl_pencairan + 30, false)
        as status_agrees,
    f.regency_code,
    left(f.regency_code, 2) as province_code,
    f.source_file,
    f.source_line
from facilities as f
left join participation as p on p.as_of = f.disbursement_month and p.person_id = f.person_id
