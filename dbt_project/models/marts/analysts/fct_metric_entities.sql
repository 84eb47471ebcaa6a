-- The entities behind every figure of `fct_metrics`: one row per entity, metric, month and breakdown
-- (dimension = '' for the metric's total). Ratios count distinct entities in the denominator and
-- those `in_numerator`; counts (K8, K9) count them, K9_rupiah sums `amount`.
{{ month_incremental_config() }}
{% set reasons = ['tidak_ada', 'tidak_dikenal', 'koperasi_lain', 'tidak_berlaku'] %}
{% set link_rules = ['nik_koperasi', 'nib', 'npwp', 'nama_wilayah'] %}
with k1 as (
    select as_of, 'K1' as metric, nik_koperasi as entity, regency_code, d.dimension, d.dim_value,
        is_covered as in_numerator, null::numeric as amount
    from {{ ref('fct_cooperative_coverage') }}
    cross join lateral (values ('', ''), ('jenis_koperasi', jenis_koperasi)) as d(dimension, dim_value)
),

q1_cooperatives as (
    select as_of, 'Q1', nik_koperasi, regency_code, '', '', is_linked, null::numeric
    from {{ ref('fct_cooperative_coverage') }}
    {% for rule in link_rules %}
    union all
    select as_of, 'Q1', nik_koperasi, regency_code, 'cara', '{{ rule }}',
        coalesce(link_rule = '{{ rule }}', false), null::numeric
    from {{ ref('fct_cooperative_coverage') }}
    {% endfor %}
),

k2 as (
    select as_of, 'K2', person_id, regency_code, d.dimension, d.dim_value, is_covered, null::numeric
    from {{ ref('fct_officer_coverage') }}
    cross join lateral (values ('', ''), ('peran', peran)) as d(dimension, dim_value)
),

q1_officers as (
    select as_of, 'Q1', person_id, regency_code, 'temuan', 'pengurus', is_registered, null::numeric
    from {{ ref('fct_officer_coverage') }}
),

k3 as (
    select as_of, 'K3', no_keputusan, regency_code, d.dimension, d.dim_value, is_compliant, null::numeric
    from {{ ref('fct_licensing_compliance') }}
    cross join lateral (values ('', ''), ('jenis_layanan', jenis_layanan)) as d(dimension, dim_value)
    {% for reason in reasons %}
    union all
    select as_of, 'K3', no_keputusan, regency_code, 'alasan', '{{ reason }}',
        coalesce(alasan = '{{ reason }}', false), null::numeric
    from {{ ref('fct_licensing_compliance') }}
    {% endfor %}
),

k4_k5 as (
    select as_of, m.metric, id_fasilitas, regency_code, d.dimension, d.dim_value, is_covered, null::numeric
    from {{ ref('fct_kur_coverage') }}
    cross join lateral (values ('K4', is_mandatory), ('K5', true)) as m(metric, applies)
    cross join lateral (values ('', ''), ('bank', bank), ('skema', skema)) as d(dimension, dim_value)
    where m.applies
    union all
    select as_of, 'K5', id_fasilitas, regency_code, 'kesesuaian_status', 'sesuai', status_agrees, null::numeric
    from {{ ref('fct_kur_coverage') }}
),

q1_borrowers as (
    select as_of, 'Q1', person_id, regency_code, 'temuan', 'debitur_kur', is_registered, null::numeric
    from {{ ref('fct_kur_coverage') }}
),

k6 as (
    select as_of, 'K6', nib, regency_code, d.dimension, d.dim_value, is_covered, null::numeric
    from {{ ref('fct_umkm_coverage') }}
    cross join lateral (values ('', ''), ('skala_usaha', skala_usaha)) as d(dimension, dim_value)
),

k7 as (
    select as_of, 'K7', kpj, regency_code, d.dimension, d.dim_value, is_paid_up, null::numeric
    from {{ ref('fct_contribution_compliance') }}
    cross join lateral (values ('', ''), ('segmen', segmen)) as d(dimension, dim_value)
),

k8 as (
    select as_of, 'K8', kpj, regency_code, d.dimension, d.dim_value, true, null::numeric
    from {{ ref('fct_contribution_compliance') }}
    cross join lateral (values ('', ''), ('pekerjaan', pekerjaan)) as d(dimension, dim_value)
    where segmen = 'BPU'
),

k9 as (
    select as_of, m.metric, no_klaim, regency_code, d.dimension, d.dim_value, true, nominal
    from {{ ref('fct_claims_paid') }}
    cross join lateral (values ('K9'), ('K9_rupiah')) as m(metric)
    cross join lateral (values
        ('', '', true),
        ('program', program, true),
        ('kelompok', 'pekerja_koperasi', is_cooperative_worker),
        ('kelompok', 'pemilik_umkm', is_umkm_owner),
        ('kelompok', 'debitur_kur', is_kur_borrower)
    ) as d(dimension, dim_value, applies)
    where d.applies
)

select * from (
select * from k1
union all select * from q1_cooperatives
union all select * from k2
union all select * from q1_officers
union all select * from k3
union all select * from k4_k5
union all select * from q1_borrowers
union all select * from k6
union all select * from k7
union all select * from k8
union all select * from k9
) as entities
where {{ only_refreshed_months() }}
